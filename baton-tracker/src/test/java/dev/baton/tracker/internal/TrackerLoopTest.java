package dev.baton.tracker.internal;

import com.google.gson.JsonParser;
import dev.baton.tracker.RawPeer;
import dev.baton.tracker.TrackerOptions;
import dev.baton.tracker.TrackerTests;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The loop's byte caps and accept failures, with the caps made small and accepting made to fail on cue. */
@Timeout(60)
class TrackerLoopTest {

    /** Ticks of 25 ms; replies may wait unread for 5 s, so that only the byte caps close anyone here. */
    private static final TrackerOptions OPTIONS = TrackerOptions.builder().port(0)
            .frameTimeout(Duration.ofMillis(250)).writeTimeout(Duration.ofSeconds(5)).build();

    private final Counters counters = new Counters();
    private final List<AutoCloseable> open = new ArrayList<>();
    private TrackerLoop loop;

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        if (loop != null) {
            assertTrue(loop.close(Duration.ofSeconds(5)));
        }
        TrackerTests.assertNoTrackerThreads();
    }

    private int start(TrackerLoop.Tuning tuning) {
        loop = TrackerLoop.start(OPTIONS, counters, tuning);
        return loop.address().getPort();
    }

    private RawPeer peer(RawPeer p) {
        open.add(p);
        return p;
    }

    /** 64 keys of 256 characters that take 6 bytes each once escaped, PUT on one connection, pipelined. */
    private void putManyKeys(int port, int connection) throws IOException {
        RawPeer p = peer(RawPeer.handshake(port));
        for (int k = 0; k < 64; k++) {
            String key = String.format("%03d-%02d", connection, k) + "\u00e9".repeat(250);
            p.send("[3, \"" + key + "\", [9000, \"m\"], null]");
        }
        for (int k = 0; k < 64; k++) {
            assertEquals("0", p.read());
        }
    }

    /** Reads until the tracker closes the connection; fails if it does not within 10 s. */
    private static void assertClosedEventually(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        InputStream in = s.getInputStream();
        byte[] sink = new byte[64 * 1024];
        try {
            while (in.read(sink) >= 0) {
                // the replies it sent before closing
            }
        } catch (SocketTimeoutException e) {
            fail("the tracker did not close the connection");
        } catch (SocketException reset) {
            // closed with unread data on its side: a reset
        }
    }

    @Test
    void oneReplyLargerThanThePerConnectionCapIsSentWholeAndTheNextOnTopOfItCloses() throws IOException {
        // Send buffers of 8 KiB: most of a summary of 200 KB has to wait in the tracker for its reader.
        int port = start(new TrackerLoop.Tuning(1024, TrackerLoop.MAX_BUFFERED_BYTES, 8 * 1024, ServerSocketChannel::accept));
        for (int c = 0; c < 2; c++) {
            putManyKeys(port, c);
        }
        byte[] summary = {3, 0, 0, 0, '[', '6', ']'};
        try (Socket raw = slowReader()) {
            raw.getOutputStream().write(summary);
            InputStream in = raw.getInputStream();
            assertEquals(RawPeer.MAGIC, le(in.readNBytes(4)));
            int length = le(in.readNBytes(4));
            assertTrue(length > 190_000, "a summary of " + length + " bytes");
            byte[] body = in.readNBytes(length);
            assertEquals(length, body.length, "the tracker closed the connection mid-reply");
            String json = new String(body, java.nio.charset.StandardCharsets.US_ASCII);
            assertEquals(128, JsonParser.parseString(json).getAsJsonArray().get(1).getAsJsonObject()
                    .getAsJsonObject("queue_info").size());
            assertEquals(0, counters.protocolErrors());
        }
        // Two at once, unread: the first waits in the tracker, the second would go on top of it.
        try (Socket raw = slowReader()) {
            raw.getOutputStream().write(summary);
            raw.getOutputStream().write(summary);
            TrackerTests.await(() -> counters.protocolErrors() == 1, () -> "not closed: " + counters.protocolErrors());
            assertClosedEventually(raw);
        }
    }

    /** A connection, magic sent, with a small receive buffer: most of a large reply has to wait in the tracker. */
    private Socket slowReader() throws IOException {
        Socket raw = new Socket();
        raw.setReceiveBufferSize(4096);
        raw.connect(loop.address(), 5_000);
        raw.getOutputStream().write(RawPeer.le(RawPeer.MAGIC));
        raw.setSoTimeout(10_000);
        return raw;
    }

    @Test
    void theTrackerWideByteCapClosesTheConnectionThatWouldGrowPastIt() throws IOException {
        int port = start(new TrackerLoop.Tuning(TrackerLoop.MAX_OUTBOUND_BYTES_PER_CONNECTION, 256 * 1024, 0,
                ServerSocketChannel::accept));
        RawPeer bystander = peer(RawPeer.handshake(port));
        try (RawPeer big = RawPeer.handshake(port)) {
            big.sendBytes(RawPeer.le(1 << 20));   // a frame of 1 MiB, allowed...
            try {
                big.sendBytes(new byte[300 * 1024]);   // ...but 300 KiB of it is more than the tracker holds
            } catch (IOException closedMidway) {
                // the tracker closed it while it was still sending
            }
            big.assertClosedByTracker(Duration.ofSeconds(10));
        }
        assertEquals(1, counters.protocolErrors());
        assertEquals("0", bystander.call("[1]"));
    }

    @Test
    void anAcceptThatFailsPausesAcceptingForATickInsteadOfSpinning() throws IOException {
        AtomicBoolean failing = new AtomicBoolean(true);
        AtomicInteger attempts = new AtomicInteger();
        int port = start(new TrackerLoop.Tuning(TrackerLoop.MAX_OUTBOUND_BYTES_PER_CONNECTION,
                TrackerLoop.MAX_BUFFERED_BYTES, 0, server -> {
            attempts.incrementAndGet();
            if (failing.get()) {
                throw new IOException("Too many open files (simulated)");
            }
            return server.accept();
        }));
        AtomicInteger warnings = new AtomicInteger();
        Handler counter = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()
                        && String.valueOf(r.getMessage()).contains("accepting a connection failed")) {
                    warnings.incrementAndGet();
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger log = Logger.getLogger("dev.baton.tracker");
        log.addHandler(counter);
        try {
            RawPeer waiting = peer(RawPeer.connect(port));   // in the backlog, where accept() keeps failing
            TrackerTests.await(() -> attempts.get() > 0, () -> "no accept attempt");
            LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
            // One attempt per 25 ms tick is about 20; a loop that spins makes thousands.
            assertTrue(attempts.get() <= 200, attempts.get() + " attempts in half a second");
            assertEquals(1, warnings.get(), "logged once, not once per failure");

            failing.set(false);
            waiting.sendInt(RawPeer.MAGIC);
            assertEquals(RawPeer.MAGIC, waiting.readInt(), "accepting resumed");
            assertEquals("0", waiting.call("[1]"));
        } finally {
            log.removeHandler(counter);
        }
    }

    private static int le(byte[] b) {
        assertEquals(4, b.length, "closed early");
        return b[0] & 0xFF | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }
}
