package dev.baton.cli;

/**
 * A failure the user can act on (a child process that died, a timeout, a bad combination of options).
 * {@link BatonCli} reports it as one line on stderr, without a stack trace, and exits with 1.
 */
final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message);
    }

    CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
