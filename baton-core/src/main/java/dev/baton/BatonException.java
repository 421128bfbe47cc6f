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
        super(status.toString(), status.cause());
        this.status = Objects.requireNonNull(status, "status");
    }

    public Status status() {
        return status;
    }

    public Status.Code code() {
        return status.code();
    }
}
