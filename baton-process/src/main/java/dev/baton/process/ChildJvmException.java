package dev.baton.process;

/**
 * A child JVM did not do what its parent waited for, in time: no matching output line, output that ended
 * first, no exit. The message says what was awaited and describes the child: how it ended (or that it still
 * runs) and its last output, as {@link ChildJvm#describe()} does. Unchecked: the caller rarely has a better
 * answer than to report it.
 */
public final class ChildJvmException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    ChildJvmException(String message) {
        super(message);
    }
}
