package dev.baton.internal.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Health;
import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.NodeStatus;
import dev.baton.ServerInfo;
import dev.baton.Status;
import dev.baton.LatencyHistogram;
import dev.baton.NodeStats;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Fuzzes the bodies of the control protocol as a node, a tool or the master reads them ({@link ControlProtocol},
 * {@link StatusCodec} over {@link WireReader}): a node, a server, a membership snapshot (a JOIN, SUBSCRIBE or
 * SNAPSHOT answer), a membership event, a health answer, a node status, the master's lease ages. Input: byte 0
 * picks the body kind, the rest is the body.
 *
 * <p>Contract checked ({@link WireReader}'s): malformed input throws {@link BatonException} with PROTOCOL_ERROR and
 * nothing else; decoding allocates in proportion to the body (every count and length is checked against the bytes
 * left before anything is allocated); and what decodes encodes back to a body that decodes to the same value.
 */
@Timeout(60)
class ControlProtocolFuzzTest {

    private static final int KINDS = 7;

    @BeforeAll
    static void warm() {
        // The first decodes of each kind load and initialise classes: not what the meter is for.
        for (byte[] seed : samples()) {
            decodeChecked(seed, false);
            decodeChecked(java.util.Arrays.copyOf(seed, seed.length / 2), false);
        }
    }

    @FuzzTest
    void controlBodiesDecodeOrFailWithProtocolError(byte[] input) {
        AllocationMeter.repeatIfFirstExceeds(() -> decodeChecked(input, true));
    }

    private static void decodeChecked(byte[] input, boolean metered) {
        if (input.length == 0) {
            return;
        }
        int kind = Byte.toUnsignedInt(input[0]) % KINDS;
        ByteBuffer body = ByteBuffer.wrap(input, 1, input.length - 1);
        AllocationMeter meter = AllocationMeter.start();
        Object value;
        try {
            value = decode(kind, body);
        } catch (BatonException e) {
            assertEquals(Status.Code.PROTOCOL_ERROR, e.status().code(), e::toString);
            return;
        } finally {
            if (metered) {
                meter.assertAtMost(64L * 1024 + 64L * input.length, 0, "decoding a control body of kind " + kind);
            }
        }
        assertNotNull(value);
        WireWriter w = new WireWriter();
        encode(kind, value, w);
        Object again = decode(kind, w.toBuffer());
        assertEquals(String.valueOf(value), String.valueOf(again), "a decoded body re-encodes to another value");
    }

    private static Object decode(int kind, ByteBuffer body) {
        WireReader r = new WireReader(body);
        return switch (kind) {
            case 0 -> ControlProtocol.readNode(r);
            case 1 -> ControlProtocol.readServer(r);
            case 2 -> ControlProtocol.readSnapshot(r);
            case 3 -> ControlProtocol.readEvent(r);
            case 4 -> StatusCodec.readHealth(r);
            case 5 -> StatusCodec.readNodeStatus(r);
            default -> StatusCodec.readLeaseAges(r);
        };
    }

    @SuppressWarnings("unchecked")
    private static void encode(int kind, Object value, WireWriter w) {
        switch (kind) {
            case 0 -> ControlProtocol.writeNode(w, (NodeInfo) value);
            case 1 -> ControlProtocol.writeServer(w, (ServerInfo) value);
            case 2 -> ControlProtocol.writeSnapshot(w, (Membership) value);
            case 3 -> ControlProtocol.writeEvent(w, (MembershipEvent) value);
            case 4 -> StatusCodec.writeHealth(w, (Health) value);
            case 5 -> StatusCodec.writeNodeStatus(w, (NodeStatus) value);
            default -> StatusCodec.writeLeaseAges(w, (SortedMap<Integer, Duration>) value);
        }
    }

    /** Every kind of body as the master and the nodes write them ({@link ControlProtocol}, {@link StatusCodec}). */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(ControlProtocolFuzzTest.class, "controlBodiesDecodeOrFailWithProtocolError");
        Map<String, byte[]> samples = namedSamples();
        samples.forEach(seeds::write);
    }

    private static java.util.Collection<byte[]> samples() {
        return namedSamples().values();
    }

    private static Map<String, byte[]> namedSamples() {
        Map<String, byte[]> seeds = new java.util.LinkedHashMap<>();
        NodeInfo a = new NodeInfo(0, 42, ControlProtocol.address("10.0.0.7", 7000), "worker-0", "boot:mnt");
        NodeInfo b = new NodeInfo(1, 43, ControlProtocol.address("node-b.example", 7001), "worker-1", "");
        NodeInfo c = new NodeInfo(2, 44, ControlProtocol.address("::1", 7002), null, "");
        ServerInfo kv = new ServerInfo("kv", 17, 0, 0);
        ServerInfo kv1 = new ServerInfo("kv", 17, 1, 1);
        seeds.put("node", seed(0, a));
        seeds.put("node-ipv6-no-name", seed(0, c));
        seeds.put("server", seed(1, kv));
        seeds.put("snapshot", seed(2, Membership.of(9, List.of(a, b, c), List.of(kv, kv1,
                new ServerInfo("_baton.accumulator", 99, 0, 2)))));
        seeds.put("snapshot-empty", seed(2, Membership.of(0, List.of(), List.of())));
        seeds.put("event-joined", seed(3, new MembershipEvent.NodeJoined(10, b)));
        seeds.put("event-left", seed(3, new MembershipEvent.NodeLeft(11, b)));
        seeds.put("event-added", seed(3, new MembershipEvent.ServerAdded(12, kv1)));
        seeds.put("event-removed", seed(3, new MembershipEvent.ServerRemoved(13, kv1)));
        // With the principals nodes proved when they joined, appended. (The corpus's files of the snapshots and
        // events above are kept as a writer that predates principals wrote them: rewrite only these two.)
        NodeInfo proved = a.withPrincipal("CN=worker-0,O=Example");
        seeds.put("snapshot-proved", seed(2, Membership.of(9, List.of(proved, b), List.of(kv))));
        seeds.put("event-joined-proved", seed(3, new MembershipEvent.NodeJoined(10, proved)));
        seeds.put("health", seed(4, new Health(true, "node", "")));
        seeds.put("health-detail", seed(4, new Health(false, "master", "shutting down")));
        long[] buckets = new long[LatencyHistogram.BUCKETS];
        buckets[3] = 7;
        buckets[40] = 1;
        NodeStats stats = new NodeStats(100, 97, 3, 5, 80, 79, 1, 2, 4, 3, 1, 0, 0, 0, 512, 8192, 65536, 0, 12,
                new TreeMap<>(Map.of(1, "shm", 2, "tcp")), 123_456, 654_321, 7,
                Map.of(Status.Code.DEADLINE_EXCEEDED, 2L, Status.Code.UNAVAILABLE, 1L), LatencyHistogram.of(buckets));
        seeds.put("node-status", seed(5, new NodeStatus(a, Duration.ofMillis(123_456), stats)));
        seeds.put("lease-ages", seed(6, new TreeMap<>(Map.of(0, Duration.ofMillis(12), 1, Duration.ofMillis(3400)))));
        return seeds;
    }

    private static byte[] seed(int kind, Object value) {
        WireWriter w = new WireWriter();
        encode(kind, value, w);
        ByteBuffer body = w.toBuffer();
        byte[] input = new byte[1 + body.remaining()];
        input[0] = (byte) kind;
        body.get(input, 1, body.remaining());
        return input;
    }
}
