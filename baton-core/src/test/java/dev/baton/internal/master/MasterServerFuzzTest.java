package dev.baton.internal.master;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.Status;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.ProtocolVersion;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportStats;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * Fuzzes what the master decodes: the bodies of control requests (JOIN, REGISTER_SERVER, DEREGISTER_SERVER, SUBSCRIBE,
 * the coordination methods, the tool requests) from three peers (two nodes and a tool), in any order, with closes in
 * between. The requests go through the master's real {@link MasterServer#onFrame}, over connections that record what
 * the master answers.
 *
 * <p>Input: a sequence of requests, each {@code who u8 | method u8 | body length u16 LE | body}; {@code who} picks
 * the peer (bit 7: its connection closes first, which withdraws its locks, barriers and watches, and it comes back
 * on a new one); {@code method} picks one of {@link #METHODS}.
 *
 * <p>Contract checked: a malformed or unexpected request is answered with the error status its method documents
 * (INVALID_ARGUMENT, PROTOCOL_ERROR, NO_SUCH_METHOD, ...), never with INTERNAL, which is what the master answers
 * when handling threw anything but a {@link dev.baton.BatonException}; and a request costs allocations in
 * proportion to its body.
 */
@Timeout(60)
class MasterServerFuzzTest {

    private static final int[] METHODS = {ControlProtocol.JOIN, ControlProtocol.REGISTER_SERVER,
            ControlProtocol.DEREGISTER_SERVER, ControlProtocol.SNAPSHOT, ControlProtocol.SUBSCRIBE,
            ControlProtocol.BARRIER, ControlProtocol.LOCK, ControlProtocol.TRY_LOCK, ControlProtocol.UNLOCK,
            ControlProtocol.NEXT_ID, ControlProtocol.KV_PUT, ControlProtocol.KV_GET, ControlProtocol.KV_DELETE,
            ControlProtocol.WATCH, ControlProtocol.UNWATCH, ControlProtocol.LEAVE_BARRIER, ControlProtocol.HEALTH,
            ControlProtocol.LEASES, 0, 99};
    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");

    @BeforeAll
    static void warm() throws IOException {
        // The first sessions load and initialise classes: not what the meter is for.
        for (byte[] session : sessions().values()) {
            session(session, false);
        }
    }

    @FuzzTest
    void controlRequestsAreAnsweredWithoutInternalErrors(byte[] input) throws IOException {
        AllocationMeter.repeatIfFirstExceeds(() -> session(input, true));
    }

    private static void session(byte[] input, boolean metered) throws IOException {
        MasterServer master = MasterServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                60_000, RecordingTransport::new);
        Peer[] peers = {new Peer(PeerIdentity.ROLE_NODE), new Peer(PeerIdentity.ROLE_NODE),
                new Peer(PeerIdentity.ROLE_TOOL)};
        try {
            ByteBuffer in = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
            long requestId = 1;
            while (in.remaining() >= 4) {
                int who = Byte.toUnsignedInt(in.get());
                int method = METHODS[Byte.toUnsignedInt(in.get()) % METHODS.length];
                int length = Math.min(Short.toUnsignedInt(in.getShort()), in.remaining());
                byte[] body = new byte[length];
                in.get(body);
                Peer peer = peers[(who & 0x7F) % peers.length];
                if ((who & 0x80) != 0) {
                    peer.reconnect(master);
                }
                AllocationMeter meter = AllocationMeter.start();
                master.onFrame(peer.connection, new Request(requestId++, method, length), Message.wrap(body));
                if (metered) {
                    meter.assertAtMost(256L * 1024 + 64L * length, 0, "the master answering method " + method);
                }
            }
        } finally {
            master.close();
        }
        for (Peer p : peers) {
            p.checkAnswers();
        }
    }

    /**
     * Sessions as nodes and tools speak them: join (with and without servers to bring back), register and deregister
     * servers, subscribe, every coordination method, the tool requests; then a few refused ones.
     */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(MasterServerFuzzTest.class, "controlRequestsAreAnsweredWithoutInternalErrors");
        sessions().forEach(seeds::write);
    }

    private static java.util.Map<String, byte[]> sessions() {
        java.util.Map<String, byte[]> seeds = new java.util.LinkedHashMap<>();
        ByteArrayOutputStream join = new ByteArrayOutputStream();
        request(join, 0, ControlProtocol.JOIN, joinBody(11, -1, "10.0.0.7", 7000));
        request(join, 1, ControlProtocol.JOIN, joinBody(12, 5, "node-b", 7001, "kv", 17, 0));
        request(join, 0, ControlProtocol.REGISTER_SERVER, new WireWriter().putString("kv").putInt(-1).putInt(-1));
        request(join, 1, ControlProtocol.REGISTER_SERVER, new WireWriter().putString("echo").putInt(3));
        request(join, 0, ControlProtocol.DEREGISTER_SERVER, new WireWriter().putString("kv").putInt(17).putInt(0)
                .putInt(0));
        request(join, 2, ControlProtocol.SUBSCRIBE, new WireWriter());
        request(join, 2, ControlProtocol.SNAPSHOT, new WireWriter());
        request(join, 2, ControlProtocol.HEALTH, new WireWriter());
        request(join, 2, ControlProtocol.LEASES, new WireWriter());
        request(join, 0x80, ControlProtocol.JOIN, joinBody(11, 0, "10.0.0.7", 7000, "kv", 17, 1));
        seeds.put("membership", join.toByteArray());

        ByteArrayOutputStream coordination = new ByteArrayOutputStream();
        request(coordination, 0, ControlProtocol.LOCK, new WireWriter().putString("l").putLong(1).putLong(0));
        request(coordination, 1, ControlProtocol.LOCK, new WireWriter().putString("l").putLong(2).putLong(60_000));
        request(coordination, 2, ControlProtocol.TRY_LOCK, new WireWriter().putString("l").putLong(3));
        request(coordination, 0, ControlProtocol.UNLOCK, new WireWriter().putString("l").putLong(1));
        request(coordination, 1, ControlProtocol.BARRIER, new WireWriter().putString("b").putInt(2).putLong(60_000)
                .putLong(4));
        request(coordination, 2, ControlProtocol.LEAVE_BARRIER, new WireWriter().putString("b").putLong(4));
        request(coordination, 0, ControlProtocol.BARRIER, new WireWriter().putString("b").putInt(1).putLong(0)
                .putLong(5));
        request(coordination, 2, ControlProtocol.WATCH, new WireWriter().putLong(7).putString("cfg/"));
        request(coordination, 0, ControlProtocol.KV_PUT, new WireWriter().putString("cfg/a")
                .putBytes(new byte[] {1, 2}));
        request(coordination, 1, ControlProtocol.KV_GET, new WireWriter().putString("cfg/a"));
        request(coordination, 1, ControlProtocol.NEXT_ID, new WireWriter().putString("ids"));
        request(coordination, 0, ControlProtocol.KV_DELETE, new WireWriter().putString("cfg/a"));
        request(coordination, 2, ControlProtocol.UNWATCH, new WireWriter().putLong(7));
        request(coordination, 0x81, ControlProtocol.UNLOCK, new WireWriter().putString("l").putLong(2));
        seeds.put("coordination", coordination.toByteArray());

        ByteArrayOutputStream refused = new ByteArrayOutputStream();
        request(refused, 2, ControlProtocol.JOIN, joinBody(13, -1, "tool", 1));
        request(refused, 0, ControlProtocol.JOIN, new WireWriter().putLong(1).putInt(0).putInt(-1).putInt(80));
        request(refused, 0, ControlProtocol.REGISTER_SERVER, new WireWriter().putString(""));
        request(refused, 1, ControlProtocol.KV_PUT, new WireWriter().putString(null).putInt(Integer.MAX_VALUE));
        request(refused, 1, ControlProtocol.BARRIER, new WireWriter().putString("b").putInt(0));
        request(refused, 2, 0, new WireWriter().putInt(Integer.MIN_VALUE));
        seeds.put("refused", refused.toByteArray());
        return seeds;
    }

    private static WireWriter joinBody(long nodeId, int rank, String host, int port, Object... servers) {
        WireWriter w = new WireWriter().putLong(nodeId).putInt(rank).putString(host).putInt(port)
                .putString("n" + nodeId).putString("boot:mnt").putInt(servers.length / 3);
        for (int i = 0; i < servers.length; i += 3) {
            w.putString((String) servers[i]).putInt((Integer) servers[i + 1]).putInt((Integer) servers[i + 2]);
        }
        return w;
    }

    private static void request(ByteArrayOutputStream out, int who, int method, WireWriter body) {
        ByteBuffer b = body.toBuffer();
        int index = 0;
        while (METHODS[index] != method) {
            index++;
        }
        out.write(who);
        out.write(index);
        out.write(b.remaining());
        out.write(b.remaining() >>> 8);
        out.write(b.array(), 0, b.remaining());
    }

    /** One peer of the master; {@link #reconnect} closes its connection and gives it a new one. */
    private static final class Peer {
        final int role;
        final Queue<OutboundFrame> answers = new ConcurrentLinkedQueue<>();
        FakeConnection connection;

        Peer(int role) {
            this.role = role;
            connection = new FakeConnection(this);
        }

        void reconnect(MasterServer master) {
            connection.open = false;
            master.onClose(connection, Status.of(Status.Code.UNAVAILABLE, "fuzz: closed").asException());
            connection = new FakeConnection(this);
        }

        void checkAnswers() {
            for (OutboundFrame f : answers) {
                assertNotEquals(Status.Code.INTERNAL.value(), f.frameStatus(), () -> "the master failed internally on "
                        + "method " + f.frameMethod() + ": " + StandardCharsets.UTF_8.decode(f.payload().duplicate()));
            }
        }
    }

    /** A connection that records what is offered on it, in its peer's answers. */
    private static final class FakeConnection implements TransportConnection {
        private final Peer peer;
        private final PeerIdentity identity;
        private volatile Object attachment;
        volatile boolean open = true;

        FakeConnection(Peer peer) {
            this.peer = peer;
            this.identity = new PeerIdentity(System.identityHashCode(this), -1, peer.role, 1 << 20, 0,
                    ProtocolVersion.MAX);
        }

        @Override
        public int offer(OutboundFrame frame) {
            if (!open) {
                return CLOSED;
            }
            peer.answers.add(frame);
            return OFFERED;
        }

        @Override
        public boolean awaitCapacity(int bytes, long deadlineNanos) {
            return true;
        }

        @Override
        public PeerIdentity remoteIdentity() {
            return identity;
        }

        @Override
        public String remoteAddress() {
            return "fuzz";
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public long queuedBytes() {
            return 0;
        }

        @Override
        public void keepalive(Duration interval, Duration timeout) {
        }

        @Override
        public void close() {
            open = false;
        }

        @Override
        public Object attachment() {
            return attachment;
        }

        @Override
        public void attach(Object attachment) {
            this.attachment = attachment;
        }
    }

    private record Request(long requestId, int method, int length) implements InboundHeader {
        @Override
        public int type() {
            return FrameType.REQUEST;
        }

        @Override
        public int flags() {
            return 0;
        }

        @Override
        public int status() {
            return 0;
        }

        @Override
        public int serviceId() {
            return ControlProtocol.SERVICE_ID;
        }

        @Override
        public int serverId() {
            return -1;
        }

        @Override
        public long timeoutNs() {
            return 0;
        }

        @Override
        public Metadata metadata() {
            return null;
        }
    }

    /** The master's transport: it listens and connects nowhere; the test hands the master its frames. */
    private static final class RecordingTransport implements Transport {
        RecordingTransport(TransportContext context) {
        }

        @Override
        public InetSocketAddress listen(InetSocketAddress bind) {
            return bind;
        }

        @Override
        public TransportConnection connect(InetSocketAddress remote, Function<TransportConnection, Object> attachment) {
            throw new UnsupportedOperationException("the fuzzed master connects nowhere");
        }

        @Override
        public boolean inTransportThread() {
            return false;
        }

        @Override
        public TransportStats stats() {
            throw new UnsupportedOperationException("not measured");
        }

        @Override
        public void close() {
        }
    }
}
