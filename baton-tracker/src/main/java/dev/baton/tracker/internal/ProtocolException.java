package dev.baton.tracker.internal;

/**
 * A peer broke TVM's tracker protocol; the tracker closes that peer's connection, and only that one. Its
 * {@link Kind} is what the tracker counts and logs. Carries no stack trace: it is an expected outcome of bad
 * input, not a bug.
 */
public final class ProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    /** What was wrong. */
    public enum Kind {
        /** The first 4 bytes were not the tracker magic. */
        BAD_MAGIC,
        /** A frame length of zero or less, or over the limit. */
        BAD_LENGTH,
        /** Not UTF-8, not JSON, or more than one JSON value. */
        MALFORMED,
        /** Valid JSON that is not a well-formed message (wrong shape, wrong types, a value out of range). */
        BAD_MESSAGE,
        /** A message code the protocol does not have. */
        UNKNOWN_CODE,
        /** A per-connection or tracker-wide limit was reached (entries, requests, buffered bytes). */
        LIMIT
    }

    private final Kind kind;

    public ProtocolException(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
