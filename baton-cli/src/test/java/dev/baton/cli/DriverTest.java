package dev.baton.cli;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The demo services and the driver, with a master and nodes in this JVM. */
@Timeout(60)
class DriverTest {

    private static Node join(Master master, String name) {
        Node node = Node.join(NodeOptions.builder().master(master.address()).name(name).build());
        DemoServices.startEcho(node);
        DemoServices.startCompute(node);
        return node;
    }

    @Test
    void computeSumsLittleEndianDoublesAndHashesWithSha256() throws Exception {
        try (Master master = Master.start(0); Node a = join(master, "a"); Node b = join(master, "b")) {
            Client compute = a.client(DemoServices.COMPUTE);
            compute.awaitServers(2, Duration.ofSeconds(10));
            var toB = compute.withOptions(compute.options().withRank(b.rank()));

            ByteBuffer doubles = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN)
                    .putDouble(1.5).putDouble(2.25).putDouble(-0.75).flip();
            byte[] sum = toB.call(DemoServices.SUM_METHOD, doubles.array());
            assertEquals(3.0, ByteBuffer.wrap(sum).order(ByteOrder.LITTLE_ENDIAN).getDouble(), 0.0);

            byte[] digest = toB.call(DemoServices.SHA256_METHOD, "abc".getBytes(StandardCharsets.US_ASCII));
            assertArrayEquals(HexFormat.of().parseHex(
                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), digest);

            BatonException e = assertThrows(BatonException.class, () -> toB.call(DemoServices.SUM_METHOD, new byte[7]));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code(), e::getMessage);
        }
    }

    @Test
    void everyWorkloadIsCalledOnEveryOtherRankAndVerified() throws Exception {
        try (Master master = Master.start(0); Node a = join(master, "a"); Node b = join(master, "b");
             Node c = join(master, "c")) {
            Driver driver = new Driver(a, 50, 100, 5, Duration.ofSeconds(10), () -> false);
            List<Integer> targets = driver.awaitPeers(3, Duration.ofSeconds(10));
            assertEquals(List.of(b.rank(), c.rank()), targets);

            NodeReport report = driver.run(targets);

            assertEquals(List.of("echo", "compute.sum", "compute.sha256"),
                    report.rows().stream().map(NodeReport.Row::service).toList());
            for (NodeReport.Row row : report.rows()) {
                assertEquals(100, row.calls(), row.service());
                assertEquals(0, row.errors(), row::firstError);
                assertNull(row.firstError());
                assertEquals(100, row.latencyNs().getTotalCount(), "one latency per measured call");
            }
        }
    }

    @Test
    void aPeerThatLeftCountsAsErrorsAndTheRunEndsEarly() throws Exception {
        try (Master master = Master.start(0); Node a = join(master, "a")) {
            Node b = join(master, "b");
            Driver driver = new Driver(a, 1_000_000, 100, 0, Duration.ofSeconds(1), () -> false);
            List<Integer> targets = driver.awaitPeers(2, Duration.ofSeconds(10));
            b.close();

            NodeReport report = driver.run(targets);

            for (NodeReport.Row row : report.rows()) {
                assertEquals(Driver.MAX_ERRORS_PER_WORKLOAD, row.errors(), row.service());
                assertEquals(row.errors(), row.calls(), "every measured call failed");
            }
        }
    }

    @Test
    void aStopRequestEndsTheWaitForPeers() throws Exception {
        try (Master master = Master.start(0); Node a = join(master, "a")) {
            Driver driver = new Driver(a, 10, 10, 0, Duration.ofSeconds(1), () -> true);
            assertEquals(List.of(), driver.awaitPeers(5, Duration.ofSeconds(30)));
        }
    }
}
