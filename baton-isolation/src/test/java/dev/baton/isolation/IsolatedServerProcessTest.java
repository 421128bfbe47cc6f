package dev.baton.isolation;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import dev.baton.process.ChildJvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import static dev.baton.isolation.PoolTesting.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Every part a process of its own: the master and the calling node here, the server node in a child JVM, its
 * workers JVMs of that child. A crash and a deadline reach the caller over TCP typed; stopping the server node
 * stops its workers.
 */
@Timeout(90)
class IsolatedServerProcessTest {

    @Test
    void aServerNodeInItsOwnProcessServesIsolatedCallsAndTakesItsWorkersWithIt() throws Exception {
        // A long lease: on a starved 2-core machine a node's pings can lag; membership is not what is tested here.
        try (Master master = Master.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                Duration.ofSeconds(30));
             Node caller = Node.join(NodeOptions.builder().master(master.address()).name("caller").build());
             ChildJvm server = ChildJvm.builder("iso-server", ServerMain.class).jvmOptions(PoolTesting.JVM)
                     .args(master.address().getHostString() + ":" + master.address().getPort()).start()) {
            server.awaitLine(l -> l.startsWith("READY"), Duration.ofSeconds(60));
            Client client = caller.client("iso");
            client.awaitServers(1, Duration.ofSeconds(10));

            assertEquals("echo:hi", call(client, "echo:hi", Duration.ofSeconds(20)));
            BatonException crash = assertThrows(BatonException.class, () -> call(client, "halt:9", Duration.ofSeconds(20)));
            assertEquals(Status.Code.WORKER_CRASHED, crash.status().code(), crash.toString());
            assertEquals(true, crash.status().description().contains("exited with code 9"), crash.toString());
            BatonException late = assertThrows(BatonException.class, () -> call(client, "loop", Duration.ofMillis(500)));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, late.status().code(), late.toString());
            assertEquals("echo:again", call(client, "echo:again", Duration.ofSeconds(20)));

            server.closeStdin();
            assertEquals(0, server.awaitExit(Duration.ofSeconds(30)), server.describe());
            List<ProcessHandle> left = PoolTesting.descendantsExcept(java.util.Set.of());
            assertEquals(List.of(), left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
                    "the server node's workers outlived it");
        }
    }

    private static String call(Client client, String request, Duration timeout) {
        try (Message m = client.call(3, utf8(request), CallOptions.DEFAULT.withTimeout(timeout))) {
            return PoolTesting.text(m.buffer());
        }
    }
}
