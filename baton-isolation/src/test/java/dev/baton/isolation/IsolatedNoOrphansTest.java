package dev.baton.isolation;

import dev.baton.process.ChildJvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A supervisor killed with SIGKILL (no shutdown hook runs) takes its workers, and what their handlers started, with
 * it: each worker sees its stdin end and SIGKILLs its descendants, even a grandchild that ignores SIGTERM. The
 * socket directory it could not remove goes when the next pool starts.
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
            while (started.stream().anyMatch(IsolatedNoOrphansTest::running) && System.nanoTime() < end) {
                Thread.sleep(5);
            }
            List<String> alive = started.stream().filter(IsolatedNoOrphansTest::running)
                    .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
            assertEquals(List.of(), alive, "outlived their supervisor");
            System.out.printf("[isolation] supervisor SIGKILLed: its %d workers and grandchildren dead in %d ms%n",
                    started.size(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

            Path dir = Path.of(supervisor.output().stream().filter(l -> l.startsWith("DIR ")).findFirst()
                    .orElseThrow().substring(4));
            supervisor.awaitExit(Duration.ofSeconds(10));
            assertTrue(Files.isDirectory(dir), "a killed supervisor cannot remove its directory: " + dir);
            PoolTesting.builder("after").workers(1).start().close();
            assertFalse(Files.exists(dir), "the next pool to start removes the directory of the ended process");
        }
    }

    /**
     * Alive and not a zombie. The dead workers' parent is gone, so they are reaped by whatever adopts them (the
     * container's init here, which takes a second or more): until then {@link ProcessHandle#isAlive} says true.
     */
    private static boolean running(ProcessHandle p) {
        if (!p.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return p.isAlive();     // gone meanwhile, or no /proc
        }
    }
}
