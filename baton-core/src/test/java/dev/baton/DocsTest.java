package dev.baton;

import dev.baton.spi.TransportSettings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The numbers the docs quote are the numbers in the code. Each check builds the phrase a page uses from the
 * constant itself (a default, a limit, a tick), so changing the constant without the page fails here. Internal
 * constants are read by reflection: this test runs inside the module.
 */
@Timeout(30)
class DocsTest {

    private static final Path DOCS = Path.of("..", "docs");
    private static final NodeOptions NODE = NodeOptions.builder().master("127.0.0.1:1").build();
    private static final TransportSettings TRANSPORT = TransportSettings.builder().build();

    @Test
    void theLeaseIsQuotedWithItsMinimum() throws Exception {
        String lease = time(Master.DEFAULT_LEASE_TIMEOUT) + " (at least " + time(MasterOptions.MIN_LEASE_TIMEOUT) + ")";
        assertSays("failure-semantics.md", "| " + lease + " | `MasterOptions.leaseTimeout`");
        assertSays("protocol.md", "default " + time(Master.DEFAULT_LEASE_TIMEOUT));
    }

    @Test
    void theIoTickIsQuotedWhereverChecksRunOnIt() throws Exception {
        String tick = nanos("dev.baton.internal.tcp.IoLoop", "TICK_NS");
        assertSays("failure-semantics.md", "every " + tick + " |");
        assertSays("failure-semantics.md", "Both checks run on the I/O threads' " + tick + " tick");
        assertSays("concurrency.md", "On a " + tick + " tick");
        assertSays("protocol.md", "The I/O thread checks every " + tick + ".");
        assertSays("protocol.md", "On its I/O thread's " + tick + " tick");
        assertSays("architecture.md", "run on the I/O threads' " + tick + " tick");
    }

    @Test
    void theDeadlineWheelTickIsQuoted() throws Exception {
        String tick = nanos("dev.baton.internal.rpc.DeadlineTimer", "TICK_NS");
        assertSays("architecture.md", "a timing wheel of " + tick + " ticks");
        assertSays("concurrency.md", "wakes every " + tick);
    }

    @Test
    void nodeDefaultsAreQuotedAsTheyAre() throws Exception {
        assertSays("failure-semantics.md", "| call deadline | " + time(NODE.defaultTimeout()) + " |");
        assertSays("failure-semantics.md", "| drain on close | " + time(NODE.drainTimeout()) + " |");
        assertSays("failure-semantics.md", "| data keepalive | ping after " + time(NODE.keepaliveInterval())
                + " of silence, close after " + time(NODE.keepaliveTimeout()) + " |");
        assertSays("failure-semantics.md", "join / registration wait, and coordination calls without a timeout | "
                + time(NODE.joinTimeout()) + " |");
        assertSays("concurrency.md", "`NodeOptions.callerSpin` (default " + time(NODE.callerSpin()) + ")");
        assertSays("architecture.md", "the node's `defaultTimeout`, " + time(NODE.defaultTimeout()));
        assertSays("architecture.md", "`maxQueuedFramesPerPeer` requests (default " + number(NODE.maxQueuedFramesPerPeer()));
        assertSays("architecture.md", "`maxQueuedBytesPerPeer` (default " + (NODE.maxQueuedBytesPerPeer() >> 20) + " MiB)");
        assertSays("failure-semantics.md", "requests in progress on a node (default "
                + number(NODE.maxConcurrentRequestsPerConnection()) + ")");
        assertSays("protocol.md", "`NodeOptions.maxMessageSize` (default " + (NODE.maxMessageSize() >> 20) + " MiB");
    }

    @Test
    void transportLimitsAreQuotedAsTheyAre() throws Exception {
        assertSays("protocol.md", "A connection that is not open within " + time(TRANSPORT.handshakeTimeout()) + " is closed");
        assertSays("failure-semantics.md", "| handshake timeout | " + time(TRANSPORT.handshakeTimeout()) + " |");
        String pending = "At most " + number(TRANSPORT.maxPendingHandshakes()) + " accepted connections";
        assertSays("protocol.md", pending);
        assertSays("failure-semantics.md", pending);
        assertSays("protocol.md", "(" + TRANSPORT.maxPendingHandshakesPerAddress() + " from one remote address");
        assertSays("failure-semantics.md", "and " + TRANSPORT.maxPendingHandshakesPerAddress() + " from one remote address");
        assertSays("failure-semantics.md", "`maxConcurrentRequestsPerConnection` + "
                + number(TransportSettings.ANSWER_BACKLOG_RESERVE) + "\n  answers");
        assertSays("protocol.md", "the limit + " + number(TransportSettings.ANSWER_BACKLOG_RESERVE) + " answers unread");
    }

    @Test
    void connectionCoreConstantsAreQuotedAsTheyAre() throws Exception {
        String reader = "dev.baton.spi.connection.FrameReader";
        String progress = kib(intConstant(reader, "MIN_PROGRESS_BYTES")) + " in " + nanos(reader, "PROGRESS_WINDOW_NS");
        assertSays("failure-semantics.md", "gains less than\n  " + progress);
        assertSays("protocol.md", "A large frame that gains less than " + progress);
        assertSays("architecture.md", "A large frame that gains less than " + progress);
        String readBuffer = kib(intConstant(reader, "READ_BUFFER_SIZE"));
        assertSays("architecture.md", "It reads into a " + readBuffer + " direct read buffer");
        assertSays("protocol.md", "A frame that fits the " + readBuffer + " read buffer");
        String idle = constant("dev.baton.spi.connection.FramedConnection", "IDLE_BUFFER_RELEASE_MS") + " ms";
        assertSays("failure-semantics.md", "| read and send buffers go back to the pool after | " + idle + " idle |");
        assertSays("architecture.md", "given back after\n  " + idle + " without any");
        assertSays("architecture.md", "direct send buffer, taken from the pool when a batch needs it and given back after "
                + idle + " without writes");
        assertSays("architecture.md", "A payload of up to " + intConstant("dev.baton.spi.connection.SendBatch", "SMALL_PAYLOAD")
                + " bytes is copied next to its header");
    }

    @Test
    void backoffsAndGracePeriodsAreQuotedAsTheyAre() throws Exception {
        String peer = nanos("dev.baton.internal.rpc.Peer", "MIN_BACKOFF_NS") + " doubling to "
                + nanos("dev.baton.internal.rpc.Peer", "MAX_BACKOFF_NS");
        assertSays("failure-semantics.md", "| reconnect backoff to a server | " + peer + " |");
        assertSays("architecture.md", "(" + peer.replace(" doubling to", ", doubling up to") + ")");
        String master = nanos("dev.baton.internal.registry.MasterRegistry", "MIN_BACKOFF_NS") + " doubling to "
                + nanos("dev.baton.internal.registry.MasterRegistry", "MAX_BACKOFF_NS");
        assertSays("failure-semantics.md", "| reconnect backoff to the master | " + master + " |");
        assertSays("failure-semantics.md", "| carried-over nodes after a snapshot | "
                + nanos("dev.baton.internal.rpc.PeerTable", "UNCONFIRMED_GRACE_NS") + " |");
        String idleCheck = nanos("dev.baton.internal.rpc.PeerTable", "CLOSE_WHEN_IDLE_CHECK_NS");
        assertSays("failure-semantics.md", "| closeWhenIdle checks of a connection going away | every " + idleCheck + " |");
        assertSays("architecture.md", "The check (`closeWhenIdle`) runs on the timer thread every " + idleCheck);
    }

    @Test
    void theClusterSecretIsQuotedAsItIs() throws Exception {
        assertSays("protocol.md", "highest version: u16 = " + dev.baton.spi.ProtocolVersion.MAX + "  |");
        assertSays("protocol.md", "| " + dev.baton.spi.ProtocolVersion.CLUSTER_SECRET + " | [Cluster secret](#cluster-secret)");
        assertSays("security.md", "fewer than " + dev.baton.spi.ClusterSecret.MIN_LENGTH + " bytes");
        assertSays("security.md", "closed at the handshake timeout (" + time(TRANSPORT.handshakeTimeout()) + ")");
        Object handshakeBuffer = constant("dev.baton.spi.connection.SecretHandshake", "KEY_FRAME_LENGTH");
        assertSays("security.md", "handshake's fixed " + handshakeBuffer + "-byte");
        assertSays("security.md", "at most " + dev.baton.spi.ClusterSecret.MAX_ACCEPTED + " secrets in all");
        assertSays("protocol.md", "(at most " + dev.baton.spi.ClusterSecret.MAX_ACCEPTED + ",");
        assertSays("security.md", "checks at most every " + time(dev.baton.spi.ClusterSecret.DEFAULT_RELOAD_INTERVAL)
                + " (`ClusterSecret.DEFAULT_RELOAD_INTERVAL`");
        assertSays("failure-semantics.md", "handshake's fixed\n  " + handshakeBuffer + "-byte buffer");
    }

    // ------------------------------------------------------------------ helpers

    private static void assertSays(String page, String phrase) throws IOException {
        String text = Files.readString(DOCS.resolve(page));
        assertTrue(text.contains(phrase), "docs/" + page + " should say \"" + phrase + "\" (the code's value)");
    }

    private static Object constant(String className, String field) throws ReflectiveOperationException {
        Field f = Class.forName(className).getDeclaredField(field);
        f.setAccessible(true);
        return f.get(null);
    }

    private static int intConstant(String className, String field) throws ReflectiveOperationException {
        return ((Number) constant(className, field)).intValue();
    }

    private static String nanos(String className, String field) throws ReflectiveOperationException {
        return time(Duration.ofNanos(((Number) constant(className, field)).longValue()));
    }

    /** A duration as the docs write it: 3 s, 300 ms, 50 µs. */
    static String time(Duration d) {
        long ns = d.toNanos();
        if (ns % 1_000_000_000L == 0) {
            return ns / 1_000_000_000L + " s";
        }
        if (ns % 1_000_000L == 0) {
            return ns / 1_000_000L + " ms";
        }
        return ns / 1_000L + " µs";
    }

    /** A count as the docs write it: 65,536. */
    static String number(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String kib(int bytes) {
        return bytes / 1024 + " KiB";
    }
}
