package dev.baton.isolation;

import java.nio.ByteBuffer;

/**
 * Work that runs in a worker process of a {@link WorkerPool}, not in the server's JVM: code that may loop, exhaust
 * its memory, overflow its stack, call {@code System.exit} or crash natively (generated programs, a tuner's
 * candidates, third-party native code).
 *
 * <p>Because it runs in another JVM, a handler is named by its class: the class must be public, with a public
 * no-argument constructor, and on the class path the pool gives its workers (by default the server's). Each worker
 * makes one instance at start, before it counts as ready, and calls it for one request at a time, on one thread.
 *
 * <p>Outcomes, as the caller sees them:
 * <ul>
 *   <li>a returned buffer (its remaining bytes; {@code null} for none) is the response;</li>
 *   <li>a thrown {@link dev.baton.BatonException} fails the call with its status, any other {@link Exception} with
 *       {@code HANDLER_FAILED} and its message; the worker keeps serving;</li>
 *   <li>a thrown {@link Error} (a {@link StackOverflowError}, an {@link ExceptionInInitializerError}...) fails the
 *       call with {@code WORKER_CRASHED} saying so, and the worker is replaced: an Error may leave it broken;</li>
 *   <li>work past the call's deadline is stopped with the worker's whole process tree ({@code DEADLINE_EXCEEDED});</li>
 *   <li>a worker that exits, halts, runs out of memory or is killed by a signal fails the call with
 *       {@code WORKER_CRASHED}, with its exit code or signal.</li>
 * </ul>
 */
@FunctionalInterface
public interface IsolatedHandler {

    /**
     * Serves one request. The call (and its request buffer) is valid until this method returns; the returned
     * buffer is written to the supervisor before the next call, so it may be reused then.
     */
    ByteBuffer handle(IsolatedCall call) throws Exception;
}
