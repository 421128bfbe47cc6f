package dev.baton.spi;

/**
 * The call a new call is made on behalf of: its deadline bounds the new call's, and its cancellation cancels it
 * (docs/failure-semantics.md#deadlines-and-cancellation-across-calls). Made by the runtime for
 * {@link dev.baton.ServerCall#childOptions()}; carried by {@link dev.baton.CallOptions#scope()}.
 *
 * <p>Thread-safe.
 */
public interface CallScope {

    /** The deadline on this process's {@link System#nanoTime()} clock, or {@link Long#MAX_VALUE} for none. */
    long deadlineNanos();

    /** True once the call was cancelled, or its deadline passed. */
    boolean isCancelled();
}
