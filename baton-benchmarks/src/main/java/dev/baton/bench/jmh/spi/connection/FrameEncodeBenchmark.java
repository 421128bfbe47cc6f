package dev.baton.bench.jmh.spi.connection;

import dev.baton.BatonException;
import dev.baton.spi.connection.FrameLayout;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Frame encoding: {@link FrameLayout#putHeader}, the 40-byte header every transport's writer puts in front of every frame,
 * into a direct little-endian buffer as the send path uses. {@code header}: one frame;
 * {@code batchOf64Headers}: a full batch (64 frames, the writer's maximum) back to back, per frame.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class FrameEncodeBenchmark {

    private static final int BATCH = 64;
    private static final int PAYLOAD = 16;

    private final ByteBuffer out = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    private final Frame frame = new Frame();

    @Setup
    public void setUp() {
        frame.setHeader(FrameType.REQUEST, FrameType.FLAG_IDEMPOTENT, 0, 123_456_789L, 7, -1, 3, 30_000_000_000L);
        frame.setPayload(ByteBuffer.allocateDirect(PAYLOAD));
    }

    @Benchmark
    public ByteBuffer header() {
        out.clear();
        FrameLayout.putHeader(out, frame, frame.payloadSize());
        return out;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public ByteBuffer batchOf64Headers() {
        out.clear();
        for (int i = 0; i < BATCH; i++) {
            FrameLayout.putHeader(out, frame, frame.payloadSize());
        }
        return out;
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
