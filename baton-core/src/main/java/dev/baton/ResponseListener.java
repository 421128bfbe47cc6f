package dev.baton;

/**
 * Receives the outcome of a call made with {@link Client#call(int, java.nio.ByteBuffer, CallOptions,
 * ResponseListener)}: exactly one of its methods runs, once per call.
 *
 * <p>This is the allocation-free way to call: the runtime reuses its call records and message objects, so a
 * caller that keeps its listeners (one per outstanding call, say) and its request buffers produces no
 * garbage per call. The price is that the response is <em>lent</em>: it is valid until {@link #onResponse}
 * returns, then Baton takes its buffer back. Copy what you need to keep.
 *
 * <p>Threads: the listener runs on the I/O thread that read the response (for a server in the same process,
 * on the thread that answered), or for a failure found by the deadline timer on the node's handler executor.
 * It must not block. Calls started from inside a listener are fine (that is how a closed loop keeps a
 * window of calls in flight), but blocking calls are not. An exception it throws is logged and otherwise
 * ignored.
 */
public interface ResponseListener {

    /** The call succeeded. {@code response} is lent until this method returns; do not keep it. */
    void onResponse(Message response);

    /** The call failed; the exception's {@link BatonException#status() status} says why. */
    void onFailure(BatonException error);
}
