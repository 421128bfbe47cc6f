package dev.baton.spi;

import dev.baton.Status;

/**
 * Told of every call a node's clients complete, for metrics: {@code baton-micrometer}'s binder is one. Set with
 * {@link dev.baton.Node#callRecorder}. With none set, a call pays one field read for it.
 *
 * <p>Called on the thread that completed the call (an I/O thread, the deadline timer, a polling caller), once
 * per call: it must be quick, must not block, and should not allocate. An exception it throws is logged and
 * dropped; the call is not affected.
 */
@FunctionalInterface
public interface CallRecorder {

    /**
     * A call ended.
     *
     * @param service the service it called
     * @param method  its method
     * @param outcome {@link Status.Code#OK}, or the code it failed with
     * @param nanos   from the call's start to its outcome
     */
    void callEnded(String service, int method, Status.Code outcome, long nanos);
}
