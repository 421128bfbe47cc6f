package dev.baton.isolation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How a worker's end is told from its exit code and last output lines (pure: no process). */
@Timeout(10)
class IsolatedWorkerExitTest {

    @Test
    void anExitCodeIsAnExit() {
        assertEquals(new WorkerExit(CrashKind.EXIT, "exited with code 3"), WorkerExit.of(3, List.of("hello")));
        assertEquals(new WorkerExit(CrashKind.EXIT, "exited with code 0"), WorkerExit.of(0, List.of()));
    }

    @Test
    void codesAbove128AreSignals() {
        assertEquals(new WorkerExit(CrashKind.SIGNAL, "killed by signal 9 (SIGKILL)"), WorkerExit.of(137, List.of()));
        assertEquals(new WorkerExit(CrashKind.SIGNAL, "killed by signal 15 (SIGTERM)"), WorkerExit.of(143, List.of()));
        assertEquals(new WorkerExit(CrashKind.SIGNAL, "killed by signal 31 (SIG31)"), WorkerExit.of(159, List.of()));
        assertEquals(CrashKind.EXIT, WorkerExit.of(200, List.of()).kind(), "beyond the signals: an exit code");
    }

    @Test
    void theOutOfMemoryExitIsToldByItsLine() {
        WorkerExit e = WorkerExit.of(3, List.of("working", "Terminating due to java.lang.OutOfMemoryError: Java heap space"));
        assertEquals(CrashKind.OUT_OF_MEMORY, e.kind());
        assertEquals("ran out of memory (java.lang.OutOfMemoryError: Java heap space; exited with code 3)", e.description());
    }

    @Test
    void aNativeCrashIsToldByTheFatalErrorReport() {
        List<String> report = List.of(
                "#",
                "# A fatal error has been detected by the Java Runtime Environment:",
                "#",
                "#  SIGSEGV (0xb) at pc=0x00007f3c2d4e1c3a, pid=1234, tid=1235",
                "#",
                "# JRE version: OpenJDK Runtime Environment Temurin-25");
        WorkerExit e = WorkerExit.of(134, report);
        assertEquals(CrashKind.NATIVE_CRASH, e.kind());
        assertEquals("crashed natively (SIGSEGV; killed by signal 6 (SIGABRT); the JVM's fatal error report is in its "
                + "output)", e.description());
    }
}
