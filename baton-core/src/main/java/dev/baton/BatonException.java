package dev.baton;

import java.util.Objects;

/**
 * The one unchecked exception Baton throws (or completes futures with). Its {@link Status} says what went
 * wrong and whether a retry is safe.
 */
public final class BatonException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Status status;

    public BatonException(Status status) {
        this(status, true);
    }

    /**
     * An exception carrying {@code status}; with {@code stackTrace} false no stack trace is captured, which is
     * much cheaper: Baton does so for failures it hands to futures and listeners from its own threads, where the
     * stack would show only Baton's internals (a blocking call throws one made on the caller's thread).
     */
    public BatonException(Status status, boolean stackTrace) {
        super(null, Objects.requireNonNull(status, "status").cause(), true, stackTrace);
        this.status = status;
    }

    public Status status() {
        return status;
    }

    public Status.Code code() {
        return status.code();
    }

    /** The status as text: its code, and its description when it has one. */
    @Override
    public String getMessage() {
        return status.toString();
    }
}
