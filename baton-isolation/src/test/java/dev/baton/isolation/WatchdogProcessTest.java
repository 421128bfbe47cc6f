package dev.baton.isolation;

import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.process.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The watchdog's default action in a real process: a hung handler ends its JVM with exit code 86, saying why. */
@Timeout(90)
class WatchdogProcessTest {

    @Test
    void aHungHandlerEndsTheServingProcessWithCode86WithinTheLimit() throws Exception {
        long limitMs = 1_000;
        try (ChildJvm server = ChildJvm.builder("watchdog-server", WatchdogServerMain.class)
                .jvmOptions(PoolTesting.JVM).args(Long.toString(limitMs)).start()) {
            String ready = server.awaitLine(l -> l.startsWith("READY "), Duration.ofSeconds(60));
            String master = ready.substring("READY ".length());
            try (Node caller = Node.join(NodeOptions.builder().master(master).name("caller").build())) {
                Client client = caller.client("hang");
                client.awaitServers(1, Duration.ofSeconds(10));
                long start = System.nanoTime();
                client.callAsync(0, ByteBuffer.allocate(1), CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30)));
                int code = server.awaitExit(Duration.ofSeconds(30));
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertEquals(Watchdog.EXIT_CODE, code, server.describe());
                assertTrue(tookMs >= limitMs - 50 && tookMs <= limitMs + 2_000, "exited " + tookMs + " ms after the call");
                long end = System.nanoTime() + 5_000_000_000L;   // the output reader may be a line behind the exit
                boolean said;
                do {
                    said = server.output().stream().anyMatch(l -> l.startsWith(
                            "baton watchdog: the handler of service hang method 0 (request ")
                            && l.contains("past its limit (1000 ms); exiting with code 86"));
                } while (!said && System.nanoTime() - end < 0 && sleep());
                assertTrue(said, server.describe());
            }
        }
        List<ProcessHandle> left = PoolTesting.descendantsExcept(Set.of());
        assertEquals(List.of(), left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList());
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(20);
        return true;
    }
}
