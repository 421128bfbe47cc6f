package dev.baton.cli;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.fail;

/** Tests leave no process behind: this waits (with a deadline) for this JVM's children to be gone. */
final class ChildProcesses {

    private ChildProcesses() {
    }

    /** Fails, after killing them, if this JVM still has child processes {@code timeout} from now. */
    static void assertNoneLeft(Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        List<ProcessHandle> left = alive();
        while (!left.isEmpty() && System.nanoTime() - end < 0) {
            LockSupport.parkNanos(20_000_000L);
            left = alive();
        }
        if (!left.isEmpty()) {
            left.forEach(ProcessHandle::destroyForcibly);
            fail("child processes left behind: " + left.stream()
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
        }
    }

    private static List<ProcessHandle> alive() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    }
}
