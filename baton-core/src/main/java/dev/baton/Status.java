package dev.baton;

import java.util.Objects;

/**
 * The outcome of a call: a {@link Code}, a human-readable description and, on the side that raised it, a cause.
 * Immutable and thread-safe. {@link BatonException} carries one; it is the only error currency of Baton.
 *
 * <p>{@link #retrySafe()} tells whether the request is known <em>not</em> to have run on any server, so that
 * sending it again cannot execute it twice.
 */
public final class Status {

    /** Status codes. The numeric value travels on the wire and never changes for a released code. */
    public enum Code {
        OK(0),
        /** The caller cancelled the call. */
        CANCELLED(1),
        /** An error that fits no other code. */
        UNKNOWN(2),
        /**
         * The caller passed an argument that can never work (bad method number, negative size, a typed request its
         * codec could not encode or the server could not decode...).
         */
        INVALID_ARGUMENT(3),
        /** The deadline passed before a response arrived. The server may or may not have run the call. */
        DEADLINE_EXCEEDED(4),
        /** No server of this service is known, or the service is unknown on the node that received the call. */
        NO_SUCH_SERVICE(5),
        /** The server id named by the call is not (or no longer) registered. */
        NO_SUCH_SERVER(6),
        /** The rank named by the call is not (or no longer) a member, or serves nothing of this service. */
        NO_SUCH_RANK(7),
        /** The server has no handler for the method. */
        NO_SUCH_METHOD(8),
        /** A name or id that must be unique is taken. */
        ALREADY_EXISTS(9),
        /** A bound was reached: outstanding calls or bytes to a peer, a queue, or a memory budget. */
        RESOURCE_EXHAUSTED(10),
        /** The peer could not be reached, or the connection broke. See {@link Status#retrySafe()}. */
        UNAVAILABLE(11),
        /**
         * The remote handler threw or failed its call (or its typed response could not be encoded); the description
         * carries its message.
         */
        HANDLER_FAILED(12),
        /** The message is larger than the configured maximum; nothing was sent. */
        MESSAGE_TOO_LARGE(13),
        /** The peer broke the wire protocol. */
        PROTOCOL_ERROR(14),
        /** A bug in Baton, or a response the caller's codec could not decode ({@link MethodDescriptor}). */
        INTERNAL(15),
        /** The node, client or server was closed. */
        CLOSED(16),
        /** The peer cannot do what the call asks: its protocol version lacks the feature (metadata, say). */
        UNIMPLEMENTED(17),
        /** The caller did not prove who it is, or the proof was wrong (an interceptor or a handshake refused it). */
        UNAUTHENTICATED(18),
        /** The caller is known but not allowed to do this. */
        PERMISSION_DENIED(19),
        /**
         * The process that ran the handler died while serving the call (an isolated handler's worker exited,
         * halted, ran out of memory, overflowed its stack or was killed by a signal); the description says which,
         * with its exit code or signal. The request may have run, partly or wholly.
         */
        WORKER_CRASHED(20);

        private static final Code[] BY_VALUE;

        static {
            Code[] all = values();
            BY_VALUE = new Code[all.length];
            for (Code c : all) {
                BY_VALUE[c.value] = c;
            }
        }

        private final int value;

        Code(int value) {
            this.value = value;
        }

        /** The code's wire value. */
        public int value() {
            return value;
        }

        /** The code with this wire value; {@link #UNKNOWN} for a value this version does not know. */
        public static Code of(int value) {
            return value >= 0 && value < BY_VALUE.length ? BY_VALUE[value] : UNKNOWN;
        }

        /** A status with this code and description. */
        public Status withDescription(String description) {
            return new Status(this, description, null, false, null);
        }
    }

    public static final Status OK = new Status(Code.OK, null, null, false, null);

    private final Code code;
    private final String description;
    private final Throwable cause;
    private final boolean retrySafe;
    private final Metadata metadata;        // null for none

    private Status(Code code, String description, Throwable cause, boolean retrySafe, Metadata metadata) {
        this.code = Objects.requireNonNull(code, "code");
        this.description = description;
        this.cause = cause;
        this.retrySafe = retrySafe;
        this.metadata = metadata;
    }

    /** A status with {@code code} and {@code description}, not known to be retry-safe. */
    public static Status of(Code code, String description) {
        return new Status(code, description, null, false, null);
    }

    public Code code() {
        return code;
    }

    /** What happened, in words; may be null. */
    public String description() {
        return description;
    }

    /** The local exception behind this status, if any. Never sent on the wire. */
    public Throwable cause() {
        return cause;
    }

    /** True when the request is known not to have reached any handler, so sending it again is safe. */
    public boolean retrySafe() {
        return retrySafe;
    }

    /**
     * The metadata that came with this failure: what the server's handler or interceptor set with
     * {@link ServerCall#responseMetadata} before failing the call (an error detail, a retry hint); {@link Metadata#EMPTY}
     * when none, and always for failures this side found itself.
     */
    public Metadata metadata() {
        return metadata == null ? Metadata.EMPTY : metadata;
    }

    /** This status with {@code metadata} ({@link Metadata#EMPTY} for none). */
    public Status withMetadata(Metadata metadata) {
        Objects.requireNonNull(metadata, "metadata");
        return new Status(code, description, cause, retrySafe, metadata.isEmpty() ? null : metadata);
    }

    public boolean isOk() {
        return code == Code.OK;
    }

    public Status withCause(Throwable cause) {
        return new Status(code, description, cause, retrySafe, metadata);
    }

    public Status withRetrySafe(boolean retrySafe) {
        return new Status(code, description, cause, retrySafe, metadata);
    }

    /** An exception carrying this status. */
    public BatonException asException() {
        return new BatonException(this);
    }

    @Override
    public String toString() {
        return description == null ? code.name() : code.name() + ": " + description;
    }
}
