package dev.baton.testkit.tls;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.TransportStats;
import dev.baton.spi.connection.Handshake;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the TLS glue ({@code TlsConnection}: the TLS handshake it drives, its record reading into bounded pooled
 * buffers, its failures) on real loopback sockets: a real TLS transport (one I/O loop) accepts connections from, and
 * opens connections to, this harness, which speaks TLS with the JDK's own {@link SSLEngine} (a certificate from the
 * same {@link TestPki} CA) and puts hostile bytes where the input says. It is slow per input (a TLS handshake each)
 * but faithful: the bytes reach the glue exactly as a socket hands them over.
 *
 * <p>Input: byte 0, flags: bits 0-1, where the hostile bytes go: 0, in place of TLS (before any handshake record);
 * 1, in the middle of the handshake (after the harness's first {@code 1 + byte 1 % 3} handshake flights); 2 and 3,
 * after a completed TLS handshake and Baton's own opening (sent encrypted); bit 2, the transport opened the connection
 * (the harness is the TLS server) rather than accepted it; bit 3, after the handshake: the hostile bytes go as
 * plaintext in records the harness encrypts, whose ciphertext is then corrupted (byte 1 says where) rather than as
 * raw records. The rest: the hostile bytes. The harness then ends its stream and reads until the transport closes.
 *
 * <p>Contract checked: the transport's connection closes, within a bound of the harness ending its stream, with UNAUTHENTICATED (a failed TLS
 * handshake, {@code TlsFailures}' words), UNAVAILABLE (a broken stream: a record that fails authentication, the end
 * of the stream) or PROTOCOL_ERROR (Baton's frames inside TLS), never INTERNAL (what an unexpected exception in the
 * glue becomes); the I/O loop allocates no more than a TLS handshake costs whatever a record header claims, and no
 * direct memory beyond the glue's bounded buffers; after the close no buffer and no receive budget stays held.
 */
@Timeout(60)
class TlsRecordFuzzTest {

    private static final String TARGET = "hostileTlsRecordsCloseTheConnectionWithATypedFailure";
    private static final Duration CLOSE_WITHIN = Duration.ofSeconds(15);
    private static final Set<Status.Code> CLOSES = Set.of(Status.Code.UNAUTHENTICATED, Status.Code.UNAVAILABLE,
            Status.Code.PROTOCOL_ERROR);
    /**
     * What one connection may cost its I/O loop: a TLS handshake (key exchange, certificate path; the seeds measured
     * 13 KiB to 1.1 MiB), no more, whatever a record header claims.
     */
    private static final long HEAP_LIMIT = 4L << 20;
    /** Direct memory: the glue's bounded pooled buffers (64 KiB of ciphertext in, a record's plaintext, 64 KiB out). */
    private static final long DIRECT_LIMIT = 512 << 10;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");
    private static TestPki pki;
    private static SSLContext harnessTls;
    private static final BlockingQueue<BatonException> CLOSED = new LinkedBlockingQueue<>();
    private static Transport transport;
    private static InetSocketAddress listening;
    private static Thread ioLoop;
    private static ServerSocketChannel harnessServer;

    @BeforeAll
    static void start() throws Exception {
        pki = TestPki.create();
        TestPki.Ca ca = pki.ca("fuzz-ca");
        harnessTls = pki.jdkContext(pki.issue(ca, "harness"), ca);
        TransportSettings settings = TransportSettings.builder().ioThreads(1).handshakeTimeout(CLOSE_WITHIN)
                .build();
        transport = TransportFactory.tls(pki.options(pki.issue(ca, "baton"), ca)).create(new TransportContext(
                "tls-fuzz", 1, PeerIdentity.ROLE_NODE, () -> -1, new Closes(), settings));
        listening = transport.listen(new InetSocketAddress("127.0.0.1", 0));
        ioLoop = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("baton-io-tls-fuzz")).findFirst().orElseThrow();
        harnessServer = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        if (System.getenv("JAZZER_FUZZ") != null) {
            // Unmeasured: class loading and the JSSE's first handshakes are not counted. Only when fuzzing: a plain
            // test run's replay retries an input that exceeded the limit instead, which costs less than a warm-up.
            for (byte[] seed : SeedCorpus.existing(TlsRecordFuzzTest.class, TARGET)) {
                run(seed, false);
            }
        }
    }

    @AfterAll
    static void stop() throws IOException {
        if (harnessServer == null) {
            return;     // start failed: nothing was made
        }
        harnessServer.close();
        transport.close();
        pki.close();
    }

    @FuzzTest
    void hostileTlsRecordsCloseTheConnectionWithATypedFailure(byte[] input) throws Exception {
        allowLoopback();
        AllocationMeter.repeatIfFirstExceeds(() -> run(input, true));
    }

    /**
     * The harness's own connections on loopback are not what Jazzer's request-forgery detector looks for (a
     * destination taken from the input); any other destination still is one. Without Jazzer's hooks (a plain
     * test run) there is no detector to tell.
     */
    private static void allowLoopback() {
        try {
            BugDetectors.allowNetworkConnections((host, port) -> host.equals("127.0.0.1")
                    || host.equals("localhost"));
        } catch (IllegalStateException noHooks) {
            // nothing to allow
        }
    }

    private static void run(byte[] input, boolean metered) throws Exception {
        if (input.length < 2) {
            return;
        }
        int flags = Byte.toUnsignedInt(input[0]);
        int where = flags & 3;
        boolean transportOpens = (flags & 4) != 0;
        byte[] hostile = Arrays.copyOfRange(input, 2, input.length);
        CLOSED.clear();
        AllocationMeter meter = AllocationMeter.on(ioLoop);
        try (SocketChannel ch = transportOpens ? accept() : SocketChannel.open(listening)) {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            SSLEngine engine = engine(transportOpens);
            try {
                feed(ch, engine, where, (flags & 8) != 0, Byte.toUnsignedInt(input[1]), hostile);
                drainUntilClosed(ch);
            } catch (IOException refusedMeanwhile) {
                // the transport closed first (a refused certificate, a refused record): its close says why
            }
        }
        BatonException cause = CLOSED.poll(CLOSE_WITHIN.toSeconds(), TimeUnit.SECONDS);
        assertNotNull(cause, "the connection did not close within " + CLOSE_WITHIN + " of the harness closing");
        assertTrue(CLOSES.contains(cause.status().code()), () -> "closed with " + cause);
        TransportStats s = settled();
        if (metered) {
            meter.assertAtMost(HEAP_LIMIT + 64L * input.length, DIRECT_LIMIT, "a TLS connection fed "
                    + hostile.length + " hostile bytes");
        }
        assertEquals(0, s.receiveBytesReserved(), "receive budget still reserved after the close");
        assertEquals(0, s.connectionBufferBytes(), "buffers still held after the close");
        assertEquals(0, s.openConnections(), "a connection still open");
    }

    /** The transport's figures once its close has released what the connection held (the loop may still be at it). */
    private static TransportStats settled() {
        long deadline = System.nanoTime() + CLOSE_WITHIN.toNanos();
        TransportStats s = transport.stats();
        while ((s.connectionBufferBytes() != 0 || s.openConnections() != 0) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
            s = transport.stats();
        }
        return s;
    }

    private static SocketChannel accept() throws IOException {
        transport.connect((InetSocketAddress) harnessServer.getLocalAddress(), c -> null);
        return harnessServer.accept();
    }

    /** Drives the harness's side and puts the hostile bytes where the flags say. */
    private static void feed(SocketChannel ch, SSLEngine engine, int where, boolean corrupt, int at, byte[] hostile)
            throws IOException {
        if (where == 0) {
            writeFully(ch, ByteBuffer.wrap(hostile));
            return;
        }
        ByteBuffer netIn = ByteBuffer.allocate(1 << 17);
        int flights = handshake(ch, engine, netIn, where == 1 ? 1 + at % 3 : Integer.MAX_VALUE);
        if (where == 1 || flights < 0) {
            writeFully(ch, ByteBuffer.wrap(hostile));
            return;
        }
        ByteBuffer opening = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(opening, 2, 1, PeerIdentity.ROLE_NODE, 1024, 1 << 20);
        writeFully(ch, encrypt(engine, opening.flip()));
        if (!corrupt) {
            writeFully(ch, ByteBuffer.wrap(hostile));
            return;
        }
        ByteBuffer records = encrypt(engine, ByteBuffer.wrap(hostile));
        if (records.hasRemaining()) {
            int i = records.position() + at * 31 % records.remaining();
            records.put(i, (byte) (records.get(i) ^ (1 << (at & 7))));
        }
        writeFully(ch, records);
    }

    /**
     * Runs the harness's side of the TLS handshake over the blocking channel until it completes or the harness
     * has written {@code stopAfter} flights; returns the flights written, -1 when the transport ended it.
     */
    private static int handshake(SocketChannel ch, SSLEngine engine, ByteBuffer netIn, int stopAfter)
            throws IOException {
        ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        int flights = 0;
        engine.beginHandshake();
        while (true) {
            switch (engine.getHandshakeStatus()) {
                case NEED_WRAP -> {
                    if (flights == stopAfter) {
                        return flights;
                    }
                    out.clear();
                    SSLEngineResult r = engine.wrap(EMPTY, out);
                    writeFully(ch, out.flip());
                    flights++;
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        return -1;
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    netIn.flip();
                    app.clear();
                    SSLEngineResult r = engine.unwrap(netIn, app);
                    netIn.compact();
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW && ch.read(netIn) < 0) {
                        return -1;
                    } else if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        return -1;
                    }
                }
                case NEED_TASK -> {
                    for (Runnable t; (t = engine.getDelegatedTask()) != null; ) {
                        t.run();
                    }
                }
                default -> {
                    return flights;
                }
            }
        }
    }

    private static ByteBuffer encrypt(SSLEngine engine, ByteBuffer plain) throws SSLException {
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize()
                * (2 + plain.remaining() / 16_384));
        do {
            engine.wrap(plain, out);
        } while (plain.hasRemaining());
        return out.flip();
    }

    /**
     * Ends the harness's stream and reads what the transport sends until it closes its side: closing at once with
     * its bytes unread would reset the connection, and the transport might never read what the harness sent.
     */
    private static void drainUntilClosed(SocketChannel ch) throws IOException {
        ch.shutdownOutput();
        ByteBuffer sink = ByteBuffer.allocate(1 << 16);
        while (ch.read(sink.clear()) >= 0) {
            // discarded
        }
    }

    private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static SSLEngine engine(boolean server) {
        SSLEngine e = harnessTls.createSSLEngine();
        e.setUseClientMode(!server);
        if (server) {
            SSLParameters p = e.getSSLParameters();
            p.setNeedClientAuth(true);
            e.setSSLParameters(p);
        }
        return e;
    }

    /**
     * The harness reaches every phase: with nothing hostile, a connection it opened completes TLS and Baton's
     * opening (the transport's side sees the end of the stream only then), so the seeds do test records after the
     * handshake.
     */
    @Test
    void aCleanHandshakeOpensTheConnectionBeforeTheHarnessCloses() throws Exception {
        for (int flags : new int[] {2, 2 | 4}) {
            long opened = transport.stats().connectionsOpened();
            run(new byte[] {(byte) flags, 0}, false);
            assertEquals(opened + 1, transport.stats().connectionsOpened(), "flags " + flags);
        }
    }

    /**
     * Writes the seeds: for each role, garbage and plain Baton bytes in place of TLS, TLS record headers claiming
     * 64 KiB or a wrong type or version, records cut short, hostile bytes after each of the harness's handshake
     * flights, raw records and corrupted ciphertext after a completed handshake. Runs only with
     * {@code -Dbaton.fuzz.writeSeeds=true}.
     */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(TlsRecordFuzzTest.class, TARGET);
        byte[] handshakeClaims64k = {22, 3, 3, (byte) 0xff, (byte) 0xff, 1, 0, 0};
        byte[] appDataClaims64k = {23, 3, 3, (byte) 0xff, (byte) 0xff, 0, 1, 2, 3};
        byte[] wrongType = {99, 3, 3, 0, 4, 1, 2, 3, 4};
        byte[] sslv2 = {(byte) 0x80, 0x2e, 1, 3, 1, 0, 0x15};
        byte[] alert = {21, 3, 3, 0, 2, 2, 40};
        byte[] tiny = {23, 3, 3, 0, 1, 0};
        ByteBuffer baton = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(baton, 2, 1, PeerIdentity.ROLE_NODE, 1024, 1 << 20);
        byte[] text = "hello, this is not a TLS record but a Baton frame or a line of text".getBytes();
        for (int role : new int[] {0, 4}) {
            String r = role == 0 ? "accepted-" : "opened-";
            seeds.write(r + "baton-opening-instead-of-tls", input(role, 0, baton.array()));
            seeds.write(r + "text-instead-of-tls", input(role, 0, text));
            seeds.write(r + "handshake-record-claiming-64k", input(role, 0, handshakeClaims64k));
            seeds.write(r + "sslv2-hello", input(role, 0, sslv2));
            seeds.write(r + "wrong-record-type", input(role, 0, wrongType));
            for (int flight = 0; flight < 3; flight++) {
                seeds.write(r + "alert-after-flight-" + (flight + 1), input(role | 1, flight, alert));
                seeds.write(r + "claim-64k-after-flight-" + (flight + 1), input(role | 1, flight,
                        appDataClaims64k));
            }
            seeds.write(r + "garbage-after-flight-1", input(role | 1, 0, text));
            seeds.write(r + "clean-handshake", input(role | 2, 0, new byte[0]));
            seeds.write(r + "app-record-claiming-64k-after-handshake", input(role | 2, 0, appDataClaims64k));
            seeds.write(r + "tiny-record-after-handshake", input(role | 2, 0, tiny));
            seeds.write(r + "alert-after-handshake", input(role | 2, 0, alert));
            seeds.write(r + "text-after-handshake", input(role | 2, 0, text));
            seeds.write(r + "corrupted-record-after-handshake", input(role | 2 | 8, 3, text));
            seeds.write(r + "corrupted-header-after-handshake", input(role | 2 | 8, 0, text));
            seeds.write(r + "corrupted-large-record-after-handshake", input(role | 2 | 8, 200, new byte[20_000]));
        }
    }

    private static byte[] input(int flags, int at, byte[] hostile) {
        byte[] b = new byte[2 + hostile.length];
        b[0] = (byte) flags;
        b[1] = (byte) at;
        System.arraycopy(hostile, 0, b, 2, hostile.length);
        return b;
    }

    /** Records why each connection closed; frames delivered are given back. */
    private static final class Closes implements FrameHandler {
        @Override
        public void onOpen(TransportConnection c) {
        }

        @Override
        public void onFrame(TransportConnection c, InboundHeader h, Message payload) {
            payload.close();
        }

        @Override
        public void onClose(TransportConnection c, BatonException cause) {
            CLOSED.add(cause == null ? Status.of(Status.Code.INTERNAL, "closed without a cause").asException()
                    : cause);
        }
    }
}
