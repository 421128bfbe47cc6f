package dev.baton.process;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * How children are stopped ({@link ChildJvm#stopAll}): end of input, SIGTERM, SIGKILL of the process tree, each
 * step with a deadline, for all the children together; then whatever they started and left behind. Stateless.
 */
final class Escalation {

    /** How long to wait for processes to be gone after SIGKILL, and for output readers to end. */
    static final Duration KILL_WAIT = Duration.ofSeconds(ChildJvm.KILL_WAIT_SECONDS);

    private Escalation() {
    }

    static void stopAll(List<ChildJvm> all, Consumer<String> notes) {
        boolean interrupted = Thread.interrupted();   // a cut-short wait must not leave children behind
        try {
            Set<ProcessHandle> started = new LinkedHashSet<>();
            for (ChildJvm c : all) {
                started.addAll(c.tree());
                c.closeStdin();
            }
            long stdinClosedNs = System.nanoTime();
            List<ChildJvm> left = awaitExit(all, c -> stdinClosedNs + c.graceAfterClosingStdin().toNanos());
            for (ChildJvm c : left) {
                started.addAll(c.tree());
                c.process().destroy();
            }
            long termNs = System.nanoTime();
            left = awaitExit(left, c -> termNs + c.graceAfterSigterm().toNanos());
            for (ChildJvm c : left) {
                notes.accept(c.name() + " (pid " + c.pid() + ") ignored SIGTERM for "
                        + ChildJvm.formatDuration(c.graceAfterSigterm()) + "; killing it");
                started.addAll(c.tree());
                c.destroyTreeForcibly();
            }
            long killNs = System.nanoTime();
            left = awaitExit(left, c -> killNs + KILL_WAIT.toNanos());
            for (ChildJvm c : left) {
                notes.accept(c.name() + " (pid " + c.pid() + ") is still running " + ChildJvm.formatDuration(KILL_WAIT)
                        + " after SIGKILL");
            }
            // Processes a child started and left behind: once it exited, they no longer show as its descendants.
            started.forEach(ProcessHandle::destroyForcibly);
            long endNs = System.nanoTime() + KILL_WAIT.toNanos();
            awaitGone(started, endNs);
            for (ChildJvm c : all) {
                if (!c.reader().joinUntil(endNs)) {
                    notes.accept("the output reader of " + c.name() + " (pid " + c.pid() + ") did not end");
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits for each child up to its deadline ({@code deadlineNs}, nanoTime); returns those still running. */
    private static List<ChildJvm> awaitExit(List<ChildJvm> children, ToLongFunction<ChildJvm> deadlineNs) {
        List<ChildJvm> running = new ArrayList<>();
        for (ChildJvm c : children) {
            if (!awaitExit(c.process().toHandle(), deadlineNs.applyAsLong(c) - System.nanoTime())) {
                running.add(c);
            }
        }
        return running;
    }

    static void awaitGone(Collection<ProcessHandle> processes, long deadlineNs) {
        for (ProcessHandle p : processes) {
            awaitExit(p, deadlineNs - System.nanoTime());
        }
    }

    /** True once {@code p} has exited, waiting up to {@code ns}; an interrupt ends the wait (and is kept). */
    static boolean awaitExit(ProcessHandle p, long ns) {
        try {
            p.onExit().get(Math.max(0, ns), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Still running, or no longer observable: isAlive decides.
        }
        return !p.isAlive();
    }
}
