package dev.baton.internal.wire;

import dev.baton.BatonException;
import dev.baton.Health;
import dev.baton.LatencyHistogram;
import dev.baton.NodeInfo;
import dev.baton.NodeStats;
import dev.baton.NodeStatus;
import dev.baton.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The tool answers round-trip, and malformed ones fail with PROTOCOL_ERROR only, never anything else. */
@Timeout(30)
class StatusCodecTest {

    private static NodeStatus sample() {
        long[] buckets = new long[LatencyHistogram.BUCKETS];
        buckets[LatencyHistogram.bucketOf(21_000)] = 40;
        buckets[LatencyHistogram.bucketOf(900_000)] = 2;
        NodeStats stats = new NodeStats(100, 97, 3, 5, 80, 79, 1, 2, 4, 3, 1, 0, 0, 0, 512, 8192, 65536, 0, 12,
                new TreeMap<>(Map.of(1, "shm", 2, "tcp")), 123_456, 654_321, 7,
                Map.of(Status.Code.DEADLINE_EXCEEDED, 2L, Status.Code.UNAVAILABLE, 1L), LatencyHistogram.of(buckets));
        return new NodeStatus(new NodeInfo(0, 42, new InetSocketAddress("127.0.0.1", 4000), "n0", "boot:mnt"),
                Duration.ofMillis(123_456), stats);
    }

    private static ByteBuffer encode(NodeStatus s) {
        WireWriter w = new WireWriter();
        StatusCodec.writeNodeStatus(w, s);
        return w.toBuffer();
    }

    @Test
    void aNodeStatusRoundTrips() {
        assertEquals(sample(), StatusCodec.readNodeStatus(new WireReader(encode(sample()))));
    }

    @Test
    void healthRoundTrips() {
        Health h = new Health(false, "node", "closing");
        WireWriter w = new WireWriter();
        StatusCodec.writeHealth(w, h);
        assertEquals(h, StatusCodec.readHealth(new WireReader(w.toBuffer())));
    }

    @Test
    void everyTruncationAndManyCorruptionsArePROTOCOL_ERROR() {
        ByteBuffer good = encode(sample());
        byte[] bytes = new byte[good.remaining()];
        good.get(bytes);
        for (int len = 0; len < bytes.length; len++) {
            ByteBuffer cut = ByteBuffer.wrap(bytes, 0, len);
            BatonException e = assertThrows(BatonException.class, () -> StatusCodec.readNodeStatus(new WireReader(cut)),
                    "truncated to " + len);
            assertEquals(Status.Code.PROTOCOL_ERROR, e.code());
        }
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < 20_000; i++) {
            byte[] bad = bytes.clone();
            for (int k = 0; k < 1 + r.nextInt(4); k++) {
                bad[r.nextInt(bad.length)] = (byte) r.nextInt(256);
            }
            try {
                StatusCodec.readNodeStatus(new WireReader(ByteBuffer.wrap(bad)));
            } catch (BatonException e) {
                assertEquals(Status.Code.PROTOCOL_ERROR, e.code(), e.getMessage());
            }
        }
    }

    /** Found by ControlProtocolFuzzTest: two codes this node does not know, whose counts overflowed when added. */
    @Test
    void countsOfUnknownCodesAddUpWithoutTurningNegative() {
        WireWriter w = new WireWriter();
        ControlProtocol.writeNode(w, sample().node());
        w.putLong(1).putInt(0).putInt(0);                       // uptime, no counters, no paths
        w.putInt(2).putInt(9998).putLong(Long.MAX_VALUE).putInt(9999).putLong(Long.MAX_VALUE);
        w.putInt(0);                                            // no latency buckets
        NodeStatus s = StatusCodec.readNodeStatus(new WireReader(w.toBuffer()));
        assertEquals(Long.MAX_VALUE, s.stats().failuresByCode().get(Status.Code.UNKNOWN));
        WireWriter again = new WireWriter();
        StatusCodec.writeNodeStatus(again, s);
        assertEquals(s, StatusCodec.readNodeStatus(new WireReader(again.toBuffer())));
    }
}
