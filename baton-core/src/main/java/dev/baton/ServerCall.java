package dev.baton;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One request as a server sees it, and the way to answer it. Exactly one of the {@code reply},
 * {@code fail} or {@code refuse} methods may be called, once, from any thread; a second answer throws
 * {@link IllegalStateException}.
 *
 * <p>The request's {@link #request() message} stays valid until the answer has been sent, and Baton
 * releases it then: do not close it yourself (replying with its own buffer, as an echo does, is safe only
 * because of that). The buffer
 * passed to {@code reply} must not be modified after the call (it is written from, or on the in-process
 * path handed to the caller, without a copy). Answering a one-way call does nothing but release it.
 *
 * <p>Baton reuses call objects: once a call is answered <em>and</em> its handler has returned (for a
 * {@link Dealer}: once it is answered), the object may already carry another request. Do not keep a
 * reference to it past that point.
 */
public interface ServerCall {

    /** The request payload. */
    Message request();

    /** The metadata the caller sent with the request; {@link Metadata#EMPTY} for none. */
    Metadata metadata();

    /**
     * Sets the metadata sent with the answer (a reply or a failure); call it before answering. The caller reads
     * it from the response's {@link Message#metadata()}, or from a failure's {@link Status#metadata()}, and its
     * interceptors from their observers. A caller whose
     * protocol version carries no metadata (version 2, which sent none either) gets the answer without it.
     */
    void responseMetadata(Metadata metadata);

    /** The method number the caller asked for. */
    int method();

    /** The caller-assigned request id (unique per calling node). */
    long requestId();

    /** The calling node's rank, or -1 when unknown. */
    int sourceRank();

    /**
     * Who made this call: the process at the other end of its connection, with what its handshake proved (a TLS
     * principal, the cluster secret) and said (node id, rank, role); see {@link Caller}. The same instance for every
     * call on one connection, so asking allocates nothing.
     */
    Caller caller();

    /** The server this call was routed to. */
    Server server();

    /** True when the caller expects no response. */
    boolean isOneWay();

    /** The deadline on this process's {@link System#nanoTime()} clock, or {@link Long#MAX_VALUE} for none. */
    long deadlineNanos();

    /** True once the caller cancelled the call or its deadline passed; the answer would be discarded. */
    boolean isCancelled();

    /**
     * Options for the calls this handler makes to serve this call: they share its deadline (a call's own timeout
     * can only shorten it) and are cancelled, with CANCELLED, when this call is cancelled or expires, so a chain of
     * calls across nodes ends together. Derive variants with the {@code with*} methods as usual. Valid to use until
     * the handler returns (or, for calls made later, while this call is unanswered).
     */
    CallOptions childOptions();

    /** Answers with the remaining bytes of {@code response}. */
    void reply(ByteBuffer response);

    /**
     * Answers with {@code response}'s bytes, without a copy; {@code call.reply(call.request())} is an echo
     * that allocates nothing. The message must stay valid until the answer is sent (the call's own request
     * does).
     */
    void reply(Message response);

    /** Answers with {@code response}. */
    default void reply(byte[] response) {
        reply(ByteBuffer.wrap(response));
    }

    /** Answers with {@code response}'s bytes. */
    default void reply(MemorySegment response) {
        reply(response.asByteBuffer());
    }

    /** Fails the call with {@link Status.Code#HANDLER_FAILED} and {@code message}. */
    default void fail(String message) {
        fail(Status.of(Status.Code.HANDLER_FAILED, message));
    }

    /** Fails the call with {@code status} (its code and description reach the caller). */
    void fail(Status status);

    /**
     * Refuses the call: the handler did not run it and never will (its own queue was full, say). The caller gets
     * {@code status} as retry-safe ({@link Status#retrySafe()}) and may send the request to another server, as
     * for the server's own refusals. Use it only when no work for the request was done; otherwise {@link #fail}.
     * Counts as this call's one answer; does nothing if the call was answered already.
     */
    void refuse(Status status);
}
