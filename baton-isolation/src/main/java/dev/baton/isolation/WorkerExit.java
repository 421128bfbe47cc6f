package dev.baton.isolation;

import java.util.List;
import java.util.Locale;

/**
 * How a worker process ended, in words and as a {@link CrashKind}: from its exit code (the JDK reports death by
 * signal N as 128+N, as shells do), and from its last output lines, which tell an out-of-memory exit
 * ({@code -XX:+ExitOnOutOfMemoryError} prints "Terminating due to java.lang.OutOfMemoryError") and a native crash
 * (the JVM's fatal error report, "#  SIGSEGV (0xb) at pc=...") from an ordinary exit or signal. Pure.
 */
record WorkerExit(CrashKind kind, String description) {

    private static final String[] SIGNALS = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
            "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"};
    private static final String FATAL_REPORT = "A fatal error has been detected by the Java Runtime Environment";
    private static final String OOM_EXIT = "Terminating due to java.lang.OutOfMemoryError";

    /** A worker that exited with {@code exitCode}, after printing {@code lastLines}. */
    static WorkerExit of(int exitCode, List<String> lastLines) {
        String oom = null;
        boolean fatal = false;
        String fatalSignal = null;
        for (String line : lastLines) {
            if (line.contains(OOM_EXIT)) {
                int at = line.indexOf("java.lang.OutOfMemoryError");
                oom = line.substring(at);
            } else if (line.contains(FATAL_REPORT)) {
                fatal = true;
            } else if (fatal && fatalSignal == null && line.startsWith("#  SIG")) {
                String s = line.substring(3).trim();
                int space = s.indexOf(' ');
                fatalSignal = space < 0 ? s : s.substring(0, space);
            }
        }
        if (oom != null) {
            return new WorkerExit(CrashKind.OUT_OF_MEMORY, "ran out of memory (" + oom + "; exited with code "
                    + exitCode + ")");
        }
        if (fatal) {
            return new WorkerExit(CrashKind.NATIVE_CRASH, "crashed natively ("
                    + (fatalSignal == null ? "" : fatalSignal + "; ") + codeOrSignal(exitCode)
                    + "; the JVM's fatal error report is in its output)");
        }
        if (exitCode > 128 && exitCode < 128 + 65) {
            return new WorkerExit(CrashKind.SIGNAL, codeOrSignal(exitCode));
        }
        return new WorkerExit(CrashKind.EXIT, "exited with code " + exitCode);
    }

    /** "killed by signal 9 (SIGKILL)" for 137, "exited with code 3" for 3. */
    static String codeOrSignal(int exitCode) {
        if (exitCode > 128 && exitCode < 128 + 65) {
            int signal = exitCode - 128;
            return "killed by signal " + signal + " (" + signalName(signal) + ")";
        }
        return "exited with code " + exitCode;
    }

    static String signalName(int signal) {
        return signal > 0 && signal < SIGNALS.length ? SIGNALS[signal] : "SIG" + signal;
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT) + ": " + description;
    }
}
