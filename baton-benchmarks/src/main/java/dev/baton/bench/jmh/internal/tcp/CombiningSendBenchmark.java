package dev.baton.bench.jmh.internal.tcp;

import dev.baton.BatonException;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;
import dev.baton.spi.TransportConnection;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The combining send: {@link TransportConnection#offer} of 16-byte one-way REQUEST frames on a live loopback
 * connection between two {@link TcpTransport}s of this JVM, from 1 and from 4 threads. The first idle caller
 * becomes the writer and drains everyone's frames in batches; the receiving transport parses every frame and
 * its handler counts it. Throughput is frames offered per second, which in steady state is frames written.
 *
 * <p>Frames are reused: each thread cycles through a ring of {@value #RING} frames and waits (spinning) for a
 * frame to be reported written before offering it again, so the benchmark itself allocates nothing and the
 * queue stays bounded. Allocation per operation ({@code -prof gc}) is both transports together.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class CombiningSendBenchmark {

    static final int RING = 1024;
    private static final int PAYLOAD = 16;

    private final Transports.CountingHandler receiverHandler = new Transports.CountingHandler();
    private final Transports.CountingHandler senderHandler = new Transports.CountingHandler();
    private TcpTransport receiver;
    private TcpTransport sender;
    TransportConnection connection;
    final ByteBuffer payload = ByteBuffer.allocateDirect(PAYLOAD).asReadOnlyBuffer();

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        receiver = Transports.create("jmh-receiver", receiverHandler);
        InetSocketAddress address = receiver.listen(new InetSocketAddress("127.0.0.1", 0));
        sender = Transports.create("jmh-sender", senderHandler);
        connection = sender.connect(address, c -> null);
        if (!senderHandler.opened.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("loopback connection did not open");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sender.close();
        receiver.close();
    }

    /** One sending thread's frames. */
    @State(Scope.Thread)
    public static class Frames {
        final Frame[] ring = new Frame[RING];
        int next;

        @Setup(Level.Trial)
        public void setUp(CombiningSendBenchmark b) {
            for (int i = 0; i < RING; i++) {
                ring[i] = new Frame();
                ring[i].setHeader(FrameType.REQUEST, FrameType.FLAG_ONE_WAY, 0, i, 7, -1, 3, 0);
                ring[i].setPayload(b.payload);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            for (Frame f : ring) {
                if (f.dropped) {
                    throw new IllegalStateException("a frame was dropped: the connection closed");
                }
            }
        }
    }

    @Benchmark
    @Threads(1)
    public int offer1Thread(Frames frames) {
        return offer(frames);
    }

    @Benchmark
    @Threads(4)
    public int offer4Threads(Frames frames) {
        return offer(frames);
    }

    private int offer(Frames frames) {
        Frame f = frames.ring[frames.next++ & (RING - 1)];
        while (f.inFlight) {
            Thread.onSpinWait();
        }
        f.inFlight = true;
        int r;
        while ((r = connection.offer(f)) == TransportConnection.BACK_PRESSURED) {
            Thread.onSpinWait();
        }
        if (r != TransportConnection.OFFERED) {
            f.inFlight = false;
            throw new IllegalStateException("connection closed");
        }
        return r;
    }

    static final class Frame extends OutboundFrame {
        volatile boolean inFlight;
        volatile boolean dropped;

        @Override
        public void onWritten() {
            inFlight = false;
        }

        @Override
        public void onDropped(BatonException cause) {
            dropped = true;
            inFlight = false;
        }
    }
}
