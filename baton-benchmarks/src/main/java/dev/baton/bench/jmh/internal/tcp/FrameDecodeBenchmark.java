package dev.baton.bench.jmh.internal.tcp;

import dev.baton.BatonException;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.internal.wire.FrameCodec;
import dev.baton.spi.FrameType;
import dev.baton.spi.OutboundFrame;

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

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Frame decoding as the TCP reader does it: {@code TcpConnection.parse()} over a read buffer holding 64
 * frames back to back (header checks, header fields, the payload copied into a pooled buffer and wrapped in a
 * {@link dev.baton.Message}, the frame handed to the handler, which closes it). Per frame.
 *
 * <p>The parser is private to {@code TcpConnection}, so this benchmark reaches it by reflection, which works
 * because the benchmarks run on the class path (baton-core's module-info does not apply there). The
 * connection is a real one, built by its own constructor, with a never-connected socket: no I/O happens,
 * only the parse. Each operation first copies the 64 encoded frames into the read buffer (a 3.5 KiB copy at
 * 16 B payloads, standing in for the socket read). If {@code TcpConnection} changes shape, set-up fails
 * with a message naming what is missing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow"})
public class FrameDecodeBenchmark {

    private static final int BATCH = 64;
    private static final Class<?> CONNECTION;
    private static final MethodHandle PARSE;

    static {
        try {
            CONNECTION = Class.forName("dev.baton.internal.tcp.TcpConnection");
            PARSE = MethodHandles.privateLookupIn(CONNECTION, MethodHandles.lookup())
                    .findVirtual(CONNECTION, "parse", MethodType.methodType(void.class))
                    .asType(MethodType.methodType(void.class, Object.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError("TcpConnection.parse() is not reachable: " + e);
        }
    }

    @Param({"16", "512"})     // 64 frames of each must fit the 64 KiB read buffer
    int payloadBytes;

    private Transports.CountingHandler handler;
    private TcpTransport transport;
    private SocketChannel channel;
    private Object connection;
    private ByteBuffer readBuffer;
    private ByteBuffer encoded;
    private long invocations;

    @Setup(Level.Trial)
    public void setUp() throws Throwable {
        handler = new Transports.CountingHandler();
        transport = Transports.create("jmh-decode", handler);
        Field loops = field(TcpTransport.class, "loops");
        Object loop = ((Object[]) loops.get(transport))[0];
        Constructor<?> ctor = CONNECTION.getDeclaredConstructor(TcpTransport.class, loop.getClass(),
                SocketChannel.class, String.class, boolean.class);
        ctor.setAccessible(true);
        channel = SocketChannel.open();
        connection = ctor.newInstance(transport, loop, channel, "jmh", false);
        ((AtomicInteger) field(CONNECTION, "state").get(connection)).set(field(CONNECTION, "OPEN").getInt(null));
        readBuffer = (ByteBuffer) field(CONNECTION, "readBuffer").get(connection);

        encoded = ByteBuffer.allocateDirect(BATCH * (FrameCodec.HEADER_LENGTH + payloadBytes)).order(ByteOrder.LITTLE_ENDIAN);
        Frame f = new Frame();
        for (int i = 0; i < BATCH; i++) {
            f.setHeader(FrameType.REQUEST, 0, 0, i + 1, 7, -1, 3, 30_000_000_000L);
            FrameCodec.putHeader(encoded, f, payloadBytes);
            encoded.position(encoded.position() + payloadBytes);
        }
        encoded.flip();
        if (readBuffer.capacity() < encoded.limit()) {
            throw new IllegalStateException("64 frames of " + payloadBytes + " B do not fit the read buffer");
        }
        decode64();
        if (handler.frames.sum() != BATCH || handler.lastRequestId != BATCH) {
            throw new IllegalStateException("parse delivered " + handler.frames.sum() + " frames, expected " + BATCH);
        }
        handler.frames.reset();
        invocations = 0;
    }

    private static Field field(Class<?> c, String name) throws NoSuchFieldException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        long expected = invocations * BATCH;
        transport.close();
        channel.close();
        if (handler.frames.sum() != expected) {
            throw new IllegalStateException("decoded " + handler.frames.sum() + " frames, expected " + expected);
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void decode64() throws Throwable {
        int n = encoded.limit();
        readBuffer.clear();
        readBuffer.put(0, encoded, 0, n);
        readBuffer.position(0).limit(n);
        PARSE.invokeExact(connection);
        invocations++;
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
