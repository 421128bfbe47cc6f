package dev.baton.protobuf;

import com.code_intelligence.jazzer.junit.FuzzTest;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;

import dev.baton.Message;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fuzzes {@link ProtobufCodec#decode}, which parses the payload of a request (on a server) or a response (on a
 * client) as the method's protobuf type. The types are the well-known ones that nest (Struct, Value, ListValue: a
 * deeply nested message), hold bytes (Any) or fixed fields (Timestamp). Input: byte 0 picks the type, the rest is the
 * payload.
 *
 * <p>Contract checked (ProtobufCodec's): a payload the parser refuses fails with
 * {@link InvalidProtocolBufferException} and nothing else (Baton turns it into INVALID_ARGUMENT or INTERNAL for the
 * call); what decodes encodes to bytes that decode to an equal message; decoding allocates in proportion to the
 * payload (protobuf checks each length against the bytes left, and nesting against its recursion limit).
 */
@Timeout(60)
class ProtobufCodecFuzzTest {

    private static final ProtobufCodec<?>[] CODECS = {ProtobufCodec.of(Struct.getDefaultInstance()),
            ProtobufCodec.of(Value.getDefaultInstance()), ProtobufCodec.of(ListValue.getDefaultInstance()),
            ProtobufCodec.of(Any.getDefaultInstance()), ProtobufCodec.of(Timestamp.getDefaultInstance())};

    @BeforeAll
    static void warm() throws Exception {
        // The seeds once, unmeasured: loading and initialising classes is not counted.
        for (byte[] seed : SeedCorpus.existing(ProtobufCodecFuzzTest.class,
                "payloadsDecodeOrFailWithInvalidProtocolBuffer")) {
            decode(seed, false);
        }
    }

    @FuzzTest
    void payloadsDecodeOrFailWithInvalidProtocolBuffer(byte[] input) throws Exception {
        AllocationMeter.repeatIfFirstExceeds(() -> decode(input, true));
    }

    private static void decode(byte[] input, boolean metered) throws Exception {
        if (input.length == 0) {
            return;
        }
        @SuppressWarnings("unchecked")
        ProtobufCodec<MessageLite> codec =
                (ProtobufCodec<MessageLite>) CODECS[Byte.toUnsignedInt(input[0]) % CODECS.length];
        AllocationMeter meter = AllocationMeter.start();
        MessageLite value;
        try {
            value = codec.decode(Message.wrap(ByteBuffer.wrap(input, 1, input.length - 1).slice()));
        } catch (InvalidProtocolBufferException refused) {
            return;
        } finally {
            if (metered) {
                meter.assertAtMost((1L << 20) + 256L * input.length, 0, "decoding " + input.length + " bytes");
            }
        }
        ByteBuffer encoded = codec.encode(value);
        assertEquals(value, codec.decode(Message.wrap(encoded)), "a decoded message re-encodes to another");
    }

    /** Messages of each type as protobuf writes them, one nested deep, and a length that lies. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(ProtobufCodecFuzzTest.class, "payloadsDecodeOrFailWithInvalidProtocolBuffer");
        Value nested = Value.newBuilder().setStringValue("leaf").build();
        for (int i = 0; i < 20; i++) {
            nested = Value.newBuilder().setListValue(ListValue.newBuilder().addValues(nested)).build();
        }
        Struct struct = Struct.newBuilder().putFields("name", Value.newBuilder().setStringValue("kv").build())
                .putFields("port", Value.newBuilder().setNumberValue(7000).build())
                .putFields("deep", nested).build();
        seeds.write("struct", seed(0, struct));
        seeds.write("value", seed(1, nested));
        seeds.write("list", seed(2, ListValue.newBuilder().addValues(Value.newBuilder().setBoolValue(true)).build()));
        seeds.write("any", seed(3, Any.newBuilder().setTypeUrl("type.googleapis.com/google.protobuf.Struct")
                .setValue(struct.toByteString()).build()));
        seeds.write("timestamp", seed(4, Timestamp.newBuilder().setSeconds(1_765_000_000L).setNanos(5).build()));
        seeds.write("length-lies", new byte[] {3, 0x12, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x07, 1});
        seeds.write("bytes-field", seed(3, Any.newBuilder().setValue(ByteString.copyFrom(new byte[300])).build()));
    }

    private static byte[] seed(int codec, MessageLite m) {
        byte[] body = m.toByteArray();
        byte[] input = new byte[1 + body.length];
        input[0] = (byte) codec;
        System.arraycopy(body, 0, input, 1, body.length);
        return input;
    }
}
