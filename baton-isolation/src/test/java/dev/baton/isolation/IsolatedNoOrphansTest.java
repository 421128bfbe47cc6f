package dev.baton.isolation;

import dev.baton.process.ChildJvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A supervisor killed with SIGKILL (no shutdown hook runs) takes its workers, and what their handlers started, with
 * it: each worker sees its stdin end and SIGKILLs its descendants, even a grandchild that ignores SIGTERM.
 */
@Timeout(90)
class IsolatedNoOrphansTest {

    @Test
    void aKilledSupervisorLeavesNoWorkerAndNoGrandchild() throws Exception {
        try (ChildJvm supervisor = ChildJvm.builder("supervisor", SupervisorMain.class)
                .jvmOptions(PoolTesting.JVM).start()) {
            String line = supervisor.awaitLine(l -> l.startsWith("PIDS ") || l.startsWith("FAILED"), Duration.ofSeconds(60));
            List<ProcessHandle> started = Arrays.stream(line.substring(5).trim().split(" "))
                    .map(pid -> ProcessHandle.of(Long.parseLong(pid))).flatMap(Optional::stream).toList();
            assertEquals(7, started.size(), "3 workers, 2 sh and 2 sleep: " + line + "; " + supervisor.describe());
            assertTrue(started.stream().allMatch(ProcessHandle::isAlive));

            long t0 = System.nanoTime();
            ProcessHandle.of(supervisor.pid()).orElseThrow().destroyForcibly();   // the supervisor alone
            long end = t0 + TimeUnit.SECONDS.toNanos(10);
            while (started.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < end) {
                Thread.sleep(10);
            }
            List<String> alive = started.stream().filter(ProcessHandle::isAlive)
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
            assertEquals(List.of(), alive, "outlived their supervisor");
            System.out.printf("[isolation] supervisor SIGKILLed: its %d workers and grandchildren gone in %d ms%n",
                    started.size(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
    }
}
