package dev.baton.protobuf;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.StringValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Codecs;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.MethodDescriptor;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ProtobufCodec} on its own, and in typed calls between two real nodes over TCP: protobuf's well-known types
 * (ordinary generated messages, compiled into protobuf-java) as requests and responses.
 */
@Timeout(60)
class ProtobufCodecTest {

    static final ProtobufCodec<Struct> STRUCT = ProtobufCodec.of(Struct.getDefaultInstance());
    static final MethodDescriptor<Struct, Struct> ECHO = MethodDescriptor.of(0, "pb.echo", STRUCT, STRUCT);
    static final MethodDescriptor<BytesValue, BytesValue> BYTES = MethodDescriptor.of(1, "pb.bytes",
            ProtobufCodec.of(BytesValue.parser()), ProtobufCodec.of(BytesValue.parser())).withIdempotent(true);
    static final MethodDescriptor<StringValue, Timestamp> STAMP = MethodDescriptor.of(2, "pb.stamp",
            ProtobufCodec.of(StringValue.getDefaultInstance()), ProtobufCodec.of(Timestamp.getDefaultInstance()));
    /** The caller's view of {@link #ECHO} for sending raw bytes. */
    static final MethodDescriptor<byte[], byte[]> ECHO_RAW = MethodDescriptor.of(0, "pb.echo-raw", Codecs.bytes(),
            Codecs.bytes());

    static Master master;
    static Node server;
    static Node caller;
    static Client client;

    @BeforeAll
    static void start() throws Exception {
        master = Master.start(0);
        server = Node.join(options("server"));
        caller = Node.join(options("caller"));
        server.newServer("pb")
                .inline(ECHO, (s, call) -> s.toBuilder()
                        .putFields("served-by", Value.newBuilder().setStringValue("node " + server.rank()).build())
                        .build())
                .blocking(BYTES, (b, call) -> b)
                .async(STAMP, (s, call) -> CompletableFuture.supplyAsync(
                        () -> Timestamp.newBuilder().setSeconds(s.getValue().length()).setNanos(7).build()))
                .start();
        client = caller.client("pb");
        client.awaitServers(1, Duration.ofSeconds(5));
    }

    static NodeOptions options(String name) {
        return NodeOptions.builder().master(master.address()).name(name).defaultTimeout(Duration.ofSeconds(20)).build();
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {caller, server, master}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // closing the rest matters more
            }
        }
    }

    static Struct nested() {
        Struct inner = Struct.newBuilder()
                .putFields("pi", Value.newBuilder().setNumberValue(3.14159).build())
                .putFields("ok", Value.newBuilder().setBoolValue(true).build())
                .putFields("none", Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build())
                .build();
        ListValue list = ListValue.newBuilder()
                .addValues(Value.newBuilder().setStringValue("ünïcødé ✓"))
                .addValues(Value.newBuilder().setNumberValue(-1e300))
                .addValues(Value.newBuilder().setStructValue(inner))
                .build();
        return Struct.newBuilder()
                .putFields("name", Value.newBuilder().setStringValue("tensor-17").build())
                .putFields("shape", Value.newBuilder().setListValue(list).build())
                .putFields("meta", Value.newBuilder().setStructValue(inner).build())
                .build();
    }

    @Test
    void aNestedStructRoundTripsBetweenTwoNodes() throws Exception {
        Struct request = nested();
        Struct response = client.call(ECHO, request);
        assertEquals(request.toBuilder()
                .putFields("served-by", Value.newBuilder().setStringValue("node " + server.rank()).build())
                .build(), response);
        assertEquals(response, client.callAsync(ECHO, request).get(10, TimeUnit.SECONDS));
        assertEquals(Struct.getDefaultInstance(), client.call(ECHO, Struct.getDefaultInstance()).toBuilder()
                .removeFields("served-by").build());
    }

    @Test
    void requestAndResponseTypesMayDiffer() throws Exception {
        Timestamp t = client.callAsync(STAMP, StringValue.of("twelve chars")).get(10, TimeUnit.SECONDS);
        assertEquals(12, t.getSeconds());
        assertEquals(7, t.getNanos());
    }

    @Test
    void aMalformedRequestIsInvalidArgumentAndNeverReachesTheHandler() {
        byte[] truncated = {0x0A, 0x10, 0x01};      // field 1, 16 bytes long, then only one
        BatonException e = assertThrows(BatonException.class, () -> client.call(ECHO_RAW, truncated));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
        assertFalse(e.status().retrySafe());
        assertTrue(e.getMessage().contains("request of method pb.echo (#0) could not be decoded"), e.getMessage());
        assertTrue(e.getMessage().contains("InvalidProtocolBufferException"), e.getMessage());
        assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                () -> client.call(ECHO.id(), new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF})).code());
    }

    @Test
    void aLargeBytesValueRoundTripsWithoutLeakingPooledBuffers() {
        byte[] payload = new byte[8 << 20];
        new Random(16).nextBytes(payload);
        BytesValue request = BytesValue.of(ByteString.copyFrom(payload));
        assertEquals(request, client.call(BYTES, request));       // warms both nodes' pools
        long callerAllocations = caller.stats().bufferAllocations();
        long serverAllocations = server.stats().bufferAllocations();
        int calls = 10;
        for (int i = 0; i < calls; i++) {
            BytesValue response = client.call(BYTES, request);
            assertEquals(8 << 20, response.getValue().size());
            assertEquals(request, response);
        }
        // A leak costs a new buffer per call. One more buffer than before is timing, not a leak: the last request's
        // buffer goes back to the pool once its response is written, which can be after the next request arrives.
        long callerGrowth = caller.stats().bufferAllocations() - callerAllocations;
        long serverGrowth = server.stats().bufferAllocations() - serverAllocations;
        assertTrue(callerGrowth <= 1, "the caller leaked pooled buffers: " + callerGrowth + " in " + calls + " calls");
        assertTrue(serverGrowth <= 1, "the server leaked pooled buffers: " + serverGrowth + " in " + calls + " calls");
    }

    @Test
    void encodingWritesExactlyTheSerializedBytes() throws Exception {
        Struct s = nested();
        ByteBuffer encoded = STRUCT.encode(s);
        assertEquals(0, encoded.position());
        assertEquals(s.getSerializedSize(), encoded.remaining());
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        assertEquals(ByteString.copyFrom(bytes), s.toByteString());
        assertEquals(0, STRUCT.encode(Struct.getDefaultInstance()).remaining());
        assertThrows(NullPointerException.class, () -> STRUCT.encode(null));
        assertTrue(STRUCT.toString().contains("com.google.protobuf.Struct"), STRUCT.toString());
    }

    @Test
    void decodingALargeBytesValueCopiesThePayloadOnce() throws Exception {
        ProtobufCodec<BytesValue> codec = ProtobufCodec.of(BytesValue.parser());
        int size = 8 << 20;
        byte[] wire = BytesValue.of(ByteString.copyFrom(new byte[size])).toByteArray();
        ByteBuffer pooled = ByteBuffer.allocateDirect(wire.length).put(wire).flip();
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        for (int i = 0; i < 3; i++) {
            long before = threads.getThreadAllocatedBytes(thread);
            BytesValue decoded = codec.decode(Message.wrap(pooled));
            long allocated = threads.getThreadAllocatedBytes(thread) - before;
            assertEquals(size, decoded.getValue().size());
            assertTrue(allocated < size + size / 4, "decoding allocated " + allocated + " bytes for " + size);
        }
    }

    @Test
    void decodingFromADirectBufferKeepsNoReferenceToIt() throws Exception {
        ProtobufCodec<BytesValue> codec = ProtobufCodec.of(BytesValue.parser());
        byte[] value = new byte[100_000];
        new Random(1).nextBytes(value);
        byte[] wire = BytesValue.of(ByteString.copyFrom(value)).toByteArray();
        ByteBuffer pooled = ByteBuffer.allocateDirect(wire.length).put(wire).flip();
        BytesValue decoded = codec.decode(Message.wrap(pooled));
        for (int i = 0; i < pooled.capacity(); i++) {
            pooled.put(i, (byte) 0);        // the pool hands the buffer to another message
        }
        assertEquals(ByteString.copyFrom(value), decoded.getValue());
        assertInstanceOf(InvalidProtocolBufferException.class,
                assertThrows(Exception.class, () -> codec.decode(Message.wrap(new byte[] {0x0A, 0x05}))));
    }
}
