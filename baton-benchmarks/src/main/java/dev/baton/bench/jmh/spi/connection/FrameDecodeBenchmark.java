package dev.baton.bench.jmh.spi.connection;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.connection.BufferPool;
import dev.baton.spi.connection.ConnectionLoop;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.connection.FramedConnection;
import dev.baton.spi.connection.Handshake;
import dev.baton.spi.connection.TransportCore;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Frame decoding as every transport's reader does it ({@link FramedConnection}'s frame reader): 64 frames back to
 * back are read from the byte stream into the read buffer and parsed (header checks, header fields, the payload
 * copied into a pooled buffer and lent in a {@link Message}, the frame handed to the handler, which gives it
 * back). Per frame.
 *
 * <p>The connection is a real {@link FramedConnection} over an in-memory byte stream: the stream first yields the
 * peer's handshake, then, at each operation, the 64 encoded frames (a 3.5 KiB copy at 16 B payloads, standing in
 * for the socket read). No reflection: the connection core is public SPI.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class FrameDecodeBenchmark {

    private static final int BATCH = 64;

    @Param({"16", "512"})     // 64 frames of each must fit the 64 KiB read buffer
    int payloadBytes;

    private final Counting handler = new Counting();
    private MemoryConnection connection;
    private ByteBuffer encoded;
    private long invocations;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        TransportSettings settings = TransportSettings.builder().maxMessageSize(1 << 20)
                .keepaliveInterval(Duration.ZERO).keepaliveTimeout(Duration.ZERO).build();
        TransportCore core = new TransportCore(new TransportContext("jmh-decode", 1, PeerIdentity.ROLE_NODE, () -> 0,
                handler, settings), new BufferPool(64L << 20));
        connection = new MemoryConnection(core);
        ByteBuffer opening = ByteBuffer.allocate(Handshake.LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        Handshake.encode(opening, 2, 1, PeerIdentity.ROLE_NODE, 65_536, 1 << 20);
        connection.feed(opening.flip());
        connection.read();
        if (!connection.isOpen() || connection.remoteIdentity() == null) {
            throw new IllegalStateException("the in-memory connection did not open");
        }

        encoded = ByteBuffer.allocateDirect(BATCH * (FrameLayout.HEADER_LENGTH + payloadBytes)).order(ByteOrder.LITTLE_ENDIAN);
        Frame f = new Frame();
        for (int i = 0; i < BATCH; i++) {
            f.setHeader(FrameType.REQUEST, 0, 0, i + 1, 7, -1, 3, 30_000_000_000L);
            FrameLayout.putHeader(encoded, f, payloadBytes);
            encoded.position(encoded.position() + payloadBytes);
        }
        encoded.flip();
        decode64();
        if (handler.frames != BATCH || handler.lastRequestId != BATCH) {
            throw new IllegalStateException("the reader delivered " + handler.frames + " frames, expected " + BATCH);
        }
        handler.frames = 0;
        invocations = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        connection.close();
        if (handler.frames != invocations * BATCH) {
            throw new IllegalStateException("decoded " + handler.frames + " frames, expected " + invocations * BATCH);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void decode64() throws IOException {
        connection.feed(encoded.duplicate());
        connection.read();
        invocations++;
    }

    /** A connection whose byte stream is a buffer in memory; its loop is the calling thread. */
    private static final class MemoryConnection extends FramedConnection {
        private ByteBuffer source = ByteBuffer.allocate(0);

        MemoryConnection(TransportCore core) throws IOException {
            super(core, new CallingThreadLoop(), "memory", false, null);
            core.admitHandshake(null);
            startHandshake();
        }

        void feed(ByteBuffer bytes) {
            source = bytes;
        }

        void read() throws IOException {
            onReadable();
        }

        @Override
        protected int writeBytes(ByteBuffer src) {
            int n = src.remaining();
            src.position(src.limit());
            return n;
        }

        @Override
        protected long writeBytes(ByteBuffer[] srcs, int offset, int length) {
            long n = 0;
            for (int i = offset; i < offset + length; i++) {
                n += writeBytes(srcs[i]);
            }
            return n;
        }

        @Override
        protected int readBytes(ByteBuffer dst) {
            int n = Math.min(dst.remaining(), source.remaining());
            dst.put(dst.position(), source, source.position(), n);
            dst.position(dst.position() + n);
            source.position(source.position() + n);
            return n;
        }

        @Override
        protected void requestWritable() {
        }

        @Override
        protected void readInterest(boolean on) {
        }

        @Override
        protected void closeStream() {
        }
    }

    private static final class CallingThreadLoop implements ConnectionLoop {
        @Override
        public boolean inLoop() {
            return true;
        }

        @Override
        public void execute(Runnable task) {
            task.run();
        }

        @Override
        public void post(Runnable task) {
            task.run();
        }
    }

    /** Counts frames and gives their payloads back to the pool. */
    private static final class Counting implements FrameHandler {
        long frames;
        long lastRequestId;

        @Override
        public void onOpen(TransportConnection connection) {
        }

        @Override
        public void onFrame(TransportConnection connection, InboundHeader header, Message payload) {
            frames++;
            lastRequestId = header.requestId();
            MessageAccess.get().release(payload);
        }

        @Override
        public void onClose(TransportConnection connection, BatonException cause) {
        }
    }

    private static final class Frame extends OutboundFrame {
        @Override
        public void onWritten() {
        }

        @Override
        public void onDropped(BatonException cause) {
        }
    }
}
