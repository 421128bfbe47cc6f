package dev.baton;

import dev.baton.spi.FrameHandler;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportFactory;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Typed methods ({@link MethodDescriptor}, {@link Codec}) over a real master and two nodes: over TCP (a client of
 * node 1 calling node 0's server) and in process (node 0 calling its own server), every calling style, the
 * idempotency flag, each codec failure with its code and retry-safety, and large payloads without copies or leaks.
 */
@Timeout(60)
class TypedCallTest {

    static final String SERVICE = "typed";
    static final MethodDescriptor<String, String> SAY =
            MethodDescriptor.of(0, "typed.say", Codecs.utf8(), Codecs.utf8()).withIdempotent(true);
    static final MethodDescriptor<byte[], byte[]> REVERSE = MethodDescriptor.of(1, "typed.reverse", Codecs.bytes(),
            Codecs.bytes());
    static final MethodDescriptor<String, String> UPPER = MethodDescriptor.of(2, "typed.upper", Codecs.utf8(),
            Codecs.utf8());
    static final MethodDescriptor<String, Void> RECORD = MethodDescriptor.of(3, "typed.record", Codecs.utf8(),
            Codecs.empty());
    static final MethodDescriptor<Void, Void> SLOW = MethodDescriptor.of(4, "typed.slow", Codecs.empty(),
            Codecs.empty());
    static final MethodDescriptor<Message, Message> BLOB = MethodDescriptor.of(5, "typed.blob", Codecs.message(),
            Codecs.message());
    static final MethodDescriptor<byte[], byte[]> RAW = MethodDescriptor.of(6, "typed.raw", Codecs.bytes(),
            Codecs.bytes());
    static final MethodDescriptor<Void, String> TENANT = MethodDescriptor.of(7, "typed.tenant", Codecs.empty(),
            Codecs.utf8());

    /** Caller-side views of the server's methods with other codecs. */
    static final MethodDescriptor<ByteBuffer, Message> BLOB_FROM_BUFFER = MethodDescriptor.of(5, "typed.blob",
            Codecs.byteBuffer(), Codecs.message());
    static final MethodDescriptor<ByteBuffer, byte[]> BLOB_AS_BYTES = MethodDescriptor.of(5, "typed.blob",
            Codecs.byteBuffer(), Codecs.bytes());
    static final MethodDescriptor<byte[], String> RAW_AS_TEXT = MethodDescriptor.of(6, "typed.raw", Codecs.bytes(),
            Codecs.utf8());

    static final byte[] NOT_UTF8 = {(byte) 0xC3, (byte) 0x28};

    static Cluster cluster;
    static Client remote;       // node 1 -> node 0, over TCP
    static Client local;        // node 0 -> node 0, in process
    static final AtomicInteger says = new AtomicInteger();
    static final BlockingQueue<String> recorded = new LinkedBlockingQueue<>();
    static final CountDownLatch slowStarted = new CountDownLatch(1);
    static final CountDownLatch slowCancelled = new CountDownLatch(1);
    static final AtomicLong blobAddress = new AtomicLong();
    static final Map<Integer, Boolean> idempotentByMethod = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        cluster = Cluster.withNodes(2);
        Node server = cluster.node(0);
        server.newServer(SERVICE)
                .inline(SAY, (text, call) -> {
                    says.incrementAndGet();
                    return switch (text) {
                        case "unencodable" -> "\uD800";        // a lone surrogate: not UTF-8
                        case "null" -> null;
                        default -> "hello " + text;
                    };
                })
                .blocking(REVERSE, (bytes, call) -> {
                    byte[] out = new byte[bytes.length];
                    for (int i = 0; i < bytes.length; i++) {
                        out[i] = bytes[bytes.length - 1 - i];
                    }
                    return out;
                })
                .async(UPPER, (text, call) -> CompletableFuture.supplyAsync(text::toUpperCase))
                .blocking(RECORD, (text, call) -> {
                    recorded.add(text);
                    return null;
                })
                .blocking(SLOW, (nothing, call) -> {
                    slowStarted.countDown();
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (!call.isCancelled() && System.nanoTime() < end) {
                        Thread.sleep(1);
                    }
                    if (call.isCancelled()) {
                        slowCancelled.countDown();
                    }
                    return null;
                })
                .inline(BLOB, (request, call) -> {
                    blobAddress.set(MemorySegment.ofBuffer(request.buffer()).address());
                    return request;         // lent until the answer is sent: an echo without a copy
                })
                .inline(RAW, (bytes, call) -> bytes)
                .inline(TENANT, (nothing, call) -> {
                    call.responseMetadata(Metadata.of("served-by", "node-0"));
                    return call.metadata().get("tenant");
                })
                .start();
        ClientInterceptor recordIdempotency = call -> {
            idempotentByMethod.put(call.method(), call.options().idempotent());
            return null;
        };
        remote = cluster.node(1).client(SERVICE).withInterceptors(recordIdempotency);
        remote.awaitServers(1, Duration.ofSeconds(5));
        local = cluster.node(0).client(SERVICE).withOptions(CallOptions.DEFAULT.withRank(server.rank()));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static BatonException failure(Runnable call) {
        return assertThrows(BatonException.class, call::run);
    }

    static BatonException asyncFailure(CompletableFuture<?> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(BatonException.class, e.getCause());
    }

    // ------------------------------------------------------------------ values, every style, both paths

    @Test
    void stringsAndBytesOverTcp() throws Exception {
        assertEquals("hello world", remote.call(SAY, "world"));
        assertEquals("hello ünïcødé ✓", remote.call(SAY, "ünïcødé ✓"));
        assertArrayEquals(new byte[] {3, 2, 1}, remote.call(REVERSE, new byte[] {1, 2, 3}));
        assertArrayEquals(new byte[0], remote.call(REVERSE, new byte[0]));
        assertEquals("SHOUT", remote.call(UPPER, "shout"));
        assertEquals("hello async", remote.callAsync(SAY, "async").get(10, TimeUnit.SECONDS));
        assertEquals("ASYNC", remote.callAsync(UPPER, "async", CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(5)))
                .get(10, TimeUnit.SECONDS));
    }

    @Test
    void stringsAndBytesInProcess() throws Exception {
        long localCalls = cluster.node(0).stats().localCalls();
        assertEquals("hello local", local.call(SAY, "local"));
        assertArrayEquals(new byte[] {2, 1}, local.call(REVERSE, new byte[] {1, 2}));
        assertEquals("UP", local.callAsync(UPPER, "up").get(10, TimeUnit.SECONDS));
        assertEquals(localCalls + 3, cluster.node(0).stats().localCalls());
    }

    @Test
    void theHandlerSeesTheCallsMetadataAndAnswersWithItsOwn() {
        try (Message raw = remote.call(TENANT.id(), ByteBuffer.allocate(0),
                CallOptions.DEFAULT.withMetadata(Metadata.of("tenant", "acme")))) {
            assertEquals("node-0", raw.metadata().get("served-by"));
        }
        CallOptions acme = CallOptions.DEFAULT.withMetadata(Metadata.of("tenant", "acme"));
        assertEquals("acme", remote.call(TENANT, null, acme));
        assertEquals("beta", local.call(TENANT, null, local.options().withMetadata(Metadata.of("tenant", "beta"))));
    }

    @Test
    void oneWayReachesTheHandler() throws Exception {
        remote.oneWay(RECORD, "fire and forget");
        assertEquals("fire and forget", recorded.poll(10, TimeUnit.SECONDS));
        local.oneWay(RECORD, "in process");
        assertEquals("in process", recorded.poll(10, TimeUnit.SECONDS));
        assertNull(remote.call(RECORD, "two-way too"));
        assertEquals("two-way too", recorded.poll(10, TimeUnit.SECONDS));
    }

    @Test
    void cancellingTheTypedFutureCancelsTheCallOnTheServer() throws Exception {
        CompletableFuture<Void> f = remote.callAsync(SLOW, null);
        assertTrue(slowStarted.await(10, TimeUnit.SECONDS));
        assertTrue(f.cancel(true));
        assertTrue(f.isCancelled());
        assertTrue(slowCancelled.await(10, TimeUnit.SECONDS), "the server's call was not cancelled");
    }

    @Test
    void anIdempotentMethodGoesOutIdempotent() {
        remote.call(SAY, "x");
        remote.call(UPPER, "x");
        assertEquals(Boolean.TRUE, idempotentByMethod.get(SAY.id()));
        assertEquals(Boolean.FALSE, idempotentByMethod.get(UPPER.id()));
        remote.call(UPPER, "x", CallOptions.DEFAULT.withIdempotent(true));      // the options can say so too
        assertEquals(Boolean.TRUE, idempotentByMethod.get(UPPER.id()));
        remote.oneWay(SAY.withIdempotent(false), "x");
        assertEquals(Boolean.FALSE, idempotentByMethod.get(SAY.id()));
    }

    @Test
    void theServersNodeReceivesTheIdempotentFlagOnTheWire() throws Exception {
        Map<Integer, Integer> flagsByMethod = new ConcurrentHashMap<>();
        TransportFactory tcp = TransportFactory.tcp();
        TransportFactory recording = context -> tcp.create(new TransportContext(context.name(), context.nodeId(),
                context.role(), context.rank(), new FrameHandler() {
                    @Override
                    public void onOpen(TransportConnection connection) {
                        context.handler().onOpen(connection);
                    }

                    @Override
                    public void onFrame(TransportConnection connection, InboundHeader header, Message payload) {
                        if (header.type() == FrameType.REQUEST && header.serviceId() != 0) {
                            flagsByMethod.put(header.method(), header.flags());
                        }
                        context.handler().onFrame(connection, header, payload);
                    }

                    @Override
                    public void onClose(TransportConnection connection, BatonException cause) {
                        context.handler().onClose(connection, cause);
                    }
                }, context.settings()));
        Node flagged = cluster.join(cluster.options("flagged").transport(recording).build());
        flagged.newServer("typed-flags").inline(SAY, (text, call) -> text).inline(UPPER, (text, call) -> text).start();
        Client c = cluster.node(1).client("typed-flags");
        c.awaitServers(1, Duration.ofSeconds(5));
        assertEquals("a", c.call(SAY, "a"));
        assertEquals("b", c.call(UPPER, "b"));
        assertEquals(FrameType.FLAG_IDEMPOTENT, flagsByMethod.get(SAY.id()) & FrameType.FLAG_IDEMPOTENT);
        assertEquals(0, flagsByMethod.get(UPPER.id()) & FrameType.FLAG_IDEMPOTENT);
    }

    // ------------------------------------------------------------------ codec failures

    @Test
    void aRequestTheCallerCannotEncodeIsNeverSent() {
        long received = cluster.node(0).stats().requestsReceived();
        for (Client c : new Client[] {remote, local}) {
            BatonException e = failure(() -> c.call(SAY, "\uD800"));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            assertTrue(e.status().retrySafe());
            assertTrue(e.getMessage().contains("request of method typed.say (#0) could not be encoded"),
                    e.getMessage());
            assertInstanceOf(java.nio.charset.CharacterCodingException.class, e.getCause());

            BatonException async = asyncFailure(c.callAsync(SAY, "\uD800"));
            assertEquals(Status.Code.INVALID_ARGUMENT, async.code());
            assertTrue(async.status().retrySafe());

            BatonException oneWay = failure(() -> c.oneWay(REVERSE, null));
            assertEquals(Status.Code.INVALID_ARGUMENT, oneWay.code());
            assertTrue(oneWay.getMessage().contains("typed.reverse (#1)"), oneWay.getMessage());
        }
        assertEquals(received, cluster.node(0).stats().requestsReceived());
    }

    @Test
    void aRequestTheServerCannotDecodeNeverReachesTheHandler() {
        int before = says.get();
        MethodDescriptor<byte[], String> sayBytes = MethodDescriptor.of(SAY.id(), "typed.say-bytes", Codecs.bytes(),
                Codecs.utf8());
        for (Client c : new Client[] {remote, local}) {
            BatonException e = failure(() -> c.call(sayBytes, NOT_UTF8));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
            assertFalse(e.status().retrySafe());
            assertTrue(e.getMessage().contains("request of method typed.say (#0) could not be decoded"),
                    e.getMessage());

            BatonException untyped = failure(() -> c.call(SAY.id(), NOT_UTF8));
            assertEquals(Status.Code.INVALID_ARGUMENT, untyped.code());
        }
        assertEquals(before, says.get(), "the handler ran");
    }

    @Test
    void aResponseTheServerCannotEncodeFailsTheCall() {
        for (Client c : new Client[] {remote, local}) {
            for (String text : new String[] {"unencodable", "null"}) {
                BatonException e = failure(() -> c.call(SAY, text));
                assertEquals(Status.Code.HANDLER_FAILED, e.code());
                assertFalse(e.status().retrySafe());
                assertTrue(e.getMessage().contains("response of method typed.say (#0) could not be encoded"),
                        e.getMessage());
            }
        }
        assertEquals("hello again", remote.call(SAY, "again"));
    }

    @Test
    void aResponseTheCallerCannotDecodeFailsAndIsReleased() throws Exception {
        Node caller = cluster.node(1);
        for (int i = 0; i < 5; i++) {      // warm the pools
            assertThrows(BatonException.class, () -> remote.call(RAW_AS_TEXT, NOT_UTF8));
        }
        long allocations = caller.stats().bufferAllocations();
        for (int i = 0; i < 50; i++) {
            BatonException e = failure(() -> remote.call(RAW_AS_TEXT, NOT_UTF8));
            assertEquals(Status.Code.INTERNAL, e.code());
            assertFalse(e.status().retrySafe());
            assertTrue(e.getMessage().contains("response of method typed.raw (#6) could not be decoded"),
                    e.getMessage());
            BatonException async = asyncFailure(remote.callAsync(RAW_AS_TEXT, NOT_UTF8));
            assertEquals(Status.Code.INTERNAL, async.code());
        }
        assertEquals(allocations, caller.stats().bufferAllocations(), "responses were not given back to the pool");
        assertEquals(Status.Code.INTERNAL, failure(() -> local.call(RAW_AS_TEXT, NOT_UTF8)).code());
    }

    @Test
    void descriptorsAreCheckedAndNamed() {
        assertEquals("typed.say (#0)", SAY.toString());
        assertSame(SAY, SAY.withIdempotent(true));
        assertFalse(SAY.withIdempotent(false).idempotent());
        assertEquals(65535, MethodDescriptor.of(65535, "a/b-c_d.E9", Codecs.bytes(), Codecs.bytes()).id());
        Codec<byte[]> b = Codecs.bytes();
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(-1, "x", b, b));
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(65536, "x", b, b));
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(0, "", b, b));
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(0, "a b", b, b));
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(0, "é", b, b));
        assertThrows(IllegalArgumentException.class, () -> MethodDescriptor.of(0, "x".repeat(256), b, b));
        assertThrows(NullPointerException.class, () -> MethodDescriptor.of(0, "x", null, Codecs.bytes()));

        MethodDescriptor<String, String> other = MethodDescriptor.of(SAY.id(), "typed.other", Codecs.utf8(),
                Codecs.utf8());
        Server.Builder builder = cluster.node(1).newServer("typed-duplicates").inline(SAY, (s, call) -> s);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder.blocking(other, (s, call) -> s));
        assertTrue(e.getMessage().contains("typed.other (#0)"), e.getMessage());
        assertTrue(e.getMessage().contains("already has a handler"), e.getMessage());
    }

    @Test
    void codecsCopyExactlyWhatTheySay() throws Exception {
        byte[] array = {1, 2, 3};
        assertSame(array, Codecs.bytes().encode(array).array());
        ByteBuffer direct = ByteBuffer.allocateDirect(16).put(new byte[] {9, 8, 7}).flip().position(1);
        ByteBuffer view = Codecs.byteBuffer().encode(direct);
        assertEquals(MemorySegment.ofBuffer(direct).address(), MemorySegment.ofBuffer(view).address());
        assertEquals(2, view.remaining());
        assertEquals(1, direct.position());
        ByteBuffer decoded = Codecs.byteBuffer().decode(Message.wrap(direct));
        assertEquals(0, decoded.position());
        direct.put(1, (byte) 0);
        assertEquals(ByteBuffer.wrap(new byte[] {8, 7}), decoded);
        assertEquals(0, Codecs.empty().encode(null).remaining());
        assertNull(Codecs.empty().decode(Message.wrap(new byte[] {1})));
        assertTrue(Codecs.message().ownsMessage());
        assertFalse(Codecs.utf8().ownsMessage() || Codecs.bytes().ownsMessage() || Codecs.byteBuffer().ownsMessage());

        MethodDescriptor<ByteBuffer, ByteBuffer> buffers = MethodDescriptor.of(BLOB.id(), "typed.blob",
                Codecs.byteBuffer(), Codecs.byteBuffer());
        ByteBuffer small = ByteBuffer.wrap(new byte[] {4, 5, 6});
        assertEquals(small, remote.call(buffers, small));
    }

    // ------------------------------------------------------------------ large payloads

    @Test
    void aLargeBufferInProcessIsNeverCopied() {
        ByteBuffer request = pattern(8 << 20);
        long address = MemorySegment.ofBuffer(request).address();
        try (Message response = local.call(BLOB_FROM_BUFFER, request)) {
            assertEquals(address, blobAddress.get(), "the handler saw a copy of the request");
            assertEquals(address, MemorySegment.ofBuffer(response.buffer()).address(), "the response was copied");
            assertEquals(8 << 20, response.size());
        }
        try (Message echoed = local.call(BLOB, Message.wrap(request))) {
            assertEquals(address, MemorySegment.ofBuffer(echoed.buffer()).address());
        }
    }

    @Test
    void largeBuffersOverTcpLeaveNoPooledBufferBehind() {
        ByteBuffer request = pattern(8 << 20);
        Node caller = cluster.node(1);
        Node server = cluster.node(0);
        for (int i = 0; i < 2; i++) {           // warm the pools of both nodes
            remote.call(BLOB_FROM_BUFFER, request).close();
            remote.call(BLOB_AS_BYTES, request);
        }
        long callerAllocations = caller.stats().bufferAllocations();
        long serverAllocations = server.stats().bufferAllocations();
        for (int i = 0; i < 8; i++) {
            try (Message m = remote.call(BLOB_FROM_BUFFER, request)) {        // the caller owns it: closed here
                assertEquals(8 << 20, m.size());
                assertEquals(request.get(12_345), m.getByte(12_345));
                assertEquals(request.get((8 << 20) - 1), m.getByte((8 << 20) - 1));
            }
            byte[] copy = remote.call(BLOB_AS_BYTES, request);                // Baton closes it after decoding
            assertEquals(8 << 20, copy.length);
            assertEquals(request.get(777_777), copy[777_777]);
        }
        assertEquals(callerAllocations, caller.stats().bufferAllocations(), "the caller leaked pooled buffers");
        assertEquals(serverAllocations, server.stats().bufferAllocations(), "the server leaked pooled buffers");
        assertEquals(0, request.position(), "the request buffer was moved");
    }

    @Test
    void aLargeTypedCallOverTcpCopiesNothingOntoTheCallersHeap() {
        ByteBuffer request = pattern(8 << 20);
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        remote.call(BLOB_FROM_BUFFER, request).close();     // warm up
        long before = threads.getThreadAllocatedBytes(thread);
        for (int i = 0; i < 4; i++) {
            try (Message m = remote.call(BLOB_FROM_BUFFER, request)) {
                assertEquals(8 << 20, m.size());
            }
        }
        long perCall = (threads.getThreadAllocatedBytes(thread) - before) / 4;
        // The request goes to the socket from the caller's direct buffer and the response stays in its pooled buffer:
        // a copy of either onto this thread's heap would be 8 MiB (a call allocates some 40 KiB of small objects).
        assertTrue(perCall < 1 << 20, "a typed 8 MiB call allocated " + perCall + " bytes on the caller's thread");
    }

    static ByteBuffer pattern(int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size);
        for (int i = 0; i < size; i++) {
            b.put(i, (byte) (i * 31 + (i >>> 13)));
        }
        return b;
    }
}
