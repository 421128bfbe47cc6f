package dev.baton.isolation;

import dev.baton.Metadata;

import java.nio.ByteBuffer;
import java.time.Duration;

/** One request as an {@link IsolatedHandler} sees it, in its worker process. Valid until the handler returns. */
public interface IsolatedCall {

    /** The method number the caller asked for, or -1 for work given to {@link WorkerPool#submit}. */
    int method();

    /** The request payload: a read-only view of the worker's receive buffer, valid until the handler returns. */
    ByteBuffer request();

    /** The metadata the caller sent with the request; {@link Metadata#EMPTY} for none. */
    Metadata metadata();

    /**
     * The call's deadline on the worker's {@link System#nanoTime()} clock. At this point the supervisor stops the
     * worker; a handler that checks it can end cleanly first.
     */
    long deadlineNanos();

    /** What is left of the call's time (zero or negative once it passed). */
    default Duration timeLeft() {
        return Duration.ofNanos(deadlineNanos() - System.nanoTime());
    }
}
