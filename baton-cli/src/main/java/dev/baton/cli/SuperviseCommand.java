package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code baton supervise}: the monitor of watchdog mode (docs/isolation.md). Runs a command as a child process with
 * the same stdin, stdout and stderr, and restarts it when it fails (a nonzero exit code, a signal), after a backoff
 * that doubles with each consecutive failure; gives up, exiting with 1, after more than {@code --max-restarts}
 * failures within {@code --window}. SIGTERM or Ctrl-C is forwarded to the child as SIGTERM; after {@code --grace}
 * its process tree is SIGKILLed. Its own lines go to stderr, prefixed {@code baton supervise: }. It opens no Baton
 * connection itself, so the security options ({@code --secret-file}, {@code --tls-*}) belong to the command it runs.
 */
@Command(name = "supervise",
        mixinStandardHelpOptions = true,
        header = "Runs a command and restarts it, with backoff, when it fails (watchdog mode's monitor).",
        description = {
                "Runs COMMAND with this process's stdin, stdout and stderr. Exit code 0 ends supervise with 0; a",
                "nonzero exit code or a signal restarts it after the backoff, which doubles with each consecutive",
                "failure up to --max-backoff (and starts again from --backoff after a run longer than --window).",
                "More than --max-restarts failures within --window: supervise gives up and exits with 1. SIGTERM or",
                "Ctrl-C: the child gets SIGTERM, and after --grace its process tree SIGKILL; supervise then exits",
                "with 143 (130 for Ctrl-C). Write '--' before COMMAND when it has options of its own.",
                "A node under a Watchdog (dev.baton.isolation.Watchdog) exits with 86 when a handler overruns;",
                "restarted, it joins its master again by itself.",
                "supervise opens no connection of its own, so it takes no --secret-file or --tls-* option: give them",
                "to COMMAND (baton supervise -- bin/baton node --tls-cert F --tls-key K --tls-ca CA ...)."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton supervise -- bin/baton node --master 127.0.0.1:9394",
                "  baton supervise --max-restarts 3 --window 5m --backoff 2s -- java -cp app.jar my.Server"})
final class SuperviseCommand implements Callable<Integer> {

    /** Longer commands are cut to this many characters in supervise's lines. */
    private static final int SHOWN_CHARS = 300;

    /** Longer arguments are cut to this many characters. */
    private static final int SHOWN_ARG_CHARS = 60;

    @Spec
    CommandSpec spec;

    @Option(names = "--max-restarts", paramLabel = "N", defaultValue = "5",
            description = "Restarts allowed within --window; one more failure and supervise gives up."
                    + " Default: ${DEFAULT-VALUE}.")
    int maxRestarts;

    @Option(names = "--window", paramLabel = "DURATION", defaultValue = "60s", converter = DurationConverter.class,
            description = "The window --max-restarts counts failures in; a run longer than this also resets the"
                    + " backoff. Default: ${DEFAULT-VALUE}.")
    Duration window;

    @Option(names = "--backoff", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
            description = "Wait before the first restart, doubled for each consecutive failure."
                    + " Default: ${DEFAULT-VALUE}.")
    Duration backoff;

    @Option(names = "--max-backoff", paramLabel = "DURATION", defaultValue = "30s",
            converter = DurationConverter.class,
            description = "The longest wait between restarts. Default: ${DEFAULT-VALUE}.")
    Duration maxBackoff;

    @Option(names = "--grace", paramLabel = "DURATION", defaultValue = "10s", converter = DurationConverter.class,
            description = "On SIGTERM or Ctrl-C, how long the child has to exit after its SIGTERM before its"
                    + " process tree is SIGKILLed. Default: ${DEFAULT-VALUE}.")
    Duration grace;

    @Parameters(arity = "1..*", paramLabel = "COMMAND",
            description = "The command to run and its arguments (after '--').")
    List<String> command;

    /** Guards {@link #stopping} and {@link #child}: no child starts once the supervisor is stopping. */
    private final Object lock = new Object();
    private boolean stopping;
    private Process child;

    @Override
    public Integer call() throws InterruptedException {
        validate();
        PrintWriter err = spec.commandLine().getErr();
        String shown = shown(command);
        Thread hook = new Thread(() -> stop(err), "baton-supervise-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return superviseLoop(err, shown);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException exiting) {
                // a signal is being handled: the hook stops the child
            }
        }
    }

    private int superviseLoop(PrintWriter err, String shown) throws InterruptedException {
        long windowNanos = window.toNanos();
        Deque<Long> failures = new ArrayDeque<>();   // when each failure within the window happened (nanoTime)
        int consecutive = 0;
        while (true) {
            long started = System.nanoTime();
            Process p = start(shown);
            if (p == null) {
                return 143;                           // stopping: the JVM is exiting through the hook
            }
            int code = p.waitFor();
            long now = System.nanoTime();
            if (stopping()) {
                awaitTheEnd();                         // the hook decides how this ends
            }
            if (code == 0) {
                return 0;
            }
            consecutive = now - started > windowNanos ? 1 : consecutive + 1;
            failures.addLast(now);
            while (now - failures.peekFirst() > windowNanos) {
                failures.removeFirst();
            }
            String why = describeExit(code);
            if (failures.size() > maxRestarts) {
                throw new CliException(shown + " exited " + failures.size() + " times within "
                        + DurationConverter.format(window) + " (last: exit " + why + "); giving up");
            }
            Duration wait = backoffFor(consecutive);
            err.println("baton supervise: " + shown + " exited with " + why + " (restart " + failures.size() + " of "
                    + maxRestarts + " in the last " + DurationConverter.format(window) + "); restarting in "
                    + DurationConverter.format(wait));
            err.flush();
            TimeUnit.NANOSECONDS.sleep(wait.toNanos());
        }
    }

    private void validate() {
        CommandLine cl = spec.commandLine();
        if (maxRestarts < 0) {
            throw new CommandLine.ParameterException(cl, "--max-restarts must not be negative, was " + maxRestarts);
        }
        if (window.isZero()) {
            throw new CommandLine.ParameterException(cl, "--window must be positive");
        }
        if (maxBackoff.compareTo(backoff) < 0) {
            throw new CommandLine.ParameterException(cl, "--max-backoff (" + DurationConverter.format(maxBackoff)
                    + ") must not be shorter than --backoff (" + DurationConverter.format(backoff) + ")");
        }
    }

    /** The wait before restart after {@code consecutive} (1, 2, ...) failures in a row: backoff doubled, capped. */
    Duration backoffFor(int consecutive) {
        Duration d = backoff;
        for (int i = 1; i < consecutive && d.compareTo(maxBackoff) < 0; i++) {
            d = d.multipliedBy(2);
        }
        return d.compareTo(maxBackoff) > 0 ? maxBackoff : d;
    }

    /** Starts the child, unless stopping (null). */
    private Process start(String shown) {
        synchronized (lock) {
            if (stopping) {
                return null;
            }
            try {
                child = new ProcessBuilder(command).inheritIO().start();
                return child;
            } catch (IOException e) {
                throw new CliException("cannot start " + shown + ": " + e.getMessage(), e);
            }
        }
    }

    private boolean stopping() {
        synchronized (lock) {
            return stopping;
        }
    }

    /** The shutdown hook's work: SIGTERM to the child, then after the grace SIGKILL of its process tree. */
    private void stop(PrintWriter err) {
        Process p;
        synchronized (lock) {
            stopping = true;
            p = child;
        }
        if (p == null || !p.isAlive()) {
            return;
        }
        // Its tree now: what it started may outlive it (reparented), and is killed with it after the grace.
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        p.destroy();
        try {
            if (!p.waitFor(grace.toNanos(), TimeUnit.NANOSECONDS)) {
                err.println("baton supervise: " + shown(command) + " still running " + DurationConverter.format(grace)
                        + " after SIGTERM; killing its process tree");
                err.flush();
            }
            p.descendants().forEach(tree::add);
            tree.forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            p.waitFor(5, TimeUnit.SECONDS);
            for (ProcessHandle h : tree) {
                long left = end - System.nanoTime();
                if (left > 0) {
                    h.onExit().get(left, TimeUnit.NANOSECONDS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            err.println("baton supervise: a process of " + shown(command) + "'s tree did not end after SIGKILL");
            err.flush();
        }
    }

    /** Blocks until the JVM ends (the shutdown hook is stopping the child). */
    private static void awaitTheEnd() throws InterruptedException {
        while (true) {
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /** "exit code 3", or "exit code 137 (signal 9, SIGKILL)" for a death by signal. */
    static String describeExit(int code) {
        if (code > 128 && code <= 128 + 64) {
            int signal = code - 128;
            String name = switch (signal) {
                case 1 -> "SIGHUP";
                case 2 -> "SIGINT";
                case 6 -> "SIGABRT";
                case 9 -> "SIGKILL";
                case 11 -> "SIGSEGV";
                case 15 -> "SIGTERM";
                default -> null;
            };
            return "code " + code + " (signal " + signal + (name == null ? "" : ", " + name) + ")";
        }
        return "code " + code;
    }

    /** The command as supervise's lines show it: the program's file name, long arguments (class paths) cut. */
    private static String shown(List<String> command) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < command.size(); i++) {
            String a = i == 0 ? java.nio.file.Path.of(command.get(0)).getFileName().toString() : command.get(i);
            b.append(i == 0 ? "" : " ").append(a.length() <= SHOWN_ARG_CHARS ? a
                    : a.substring(0, SHOWN_ARG_CHARS - 3) + "...");
        }
        return b.length() <= SHOWN_CHARS ? b.toString() : b.substring(0, SHOWN_CHARS - 3) + "...";
    }
}
