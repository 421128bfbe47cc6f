package dev.baton.isolation;

/** How a worker died while serving a call: the calls it fails get {@code WORKER_CRASHED} saying which. */
public enum CrashKind {
    /** The worker exited by itself ({@code System.exit}, {@code Runtime.halt}, or its main ended), with a code. */
    EXIT,
    /** The worker was killed by a signal it did not handle (SIGKILL from outside, say). */
    SIGNAL,
    /** The worker ran out of Java heap (workers run with {@code -XX:+ExitOnOutOfMemoryError}). */
    OUT_OF_MEMORY,
    /** The handler overflowed its stack; the worker reported it, then was replaced. */
    STACK_OVERFLOW,
    /** The handler threw another {@link Error}; the worker reported it, then was replaced. */
    ERROR,
    /** The JVM crashed natively (SIGSEGV, SIGBUS, SIGILL...: its fatal error report is in the worker's output). */
    NATIVE_CRASH
}
