package dev.baton.tracker.internal;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes Baton's native tracker protocol ({@link NativeWire}): the requests the tracker's service reads (REGISTER,
 * UNREGISTER, REQUEST, RELEASE, SUMMARY, read field by field as {@code NativeService} reads them) and the responses
 * the client reads (REGISTER's and REQUEST's, as {@code TrackerLeases} reads them). Input: byte 0 picks the message,
 * the rest is its body.
 *
 * <p>The service's handlers need a node and the tracker's loop, so this target repeats their reading sequences over
 * the real {@link NativeWire.Reader} (each is a few calls, kept in step with NativeService and TrackerLeases).
 *
 * <p>Contract checked: a short or bad message fails with {@link BatonException} INVALID_ARGUMENT only; names are 1 to
 * 256 characters; a field's declared length never allocates more than the message holds.
 */
@Timeout(60)
class NativeWireFuzzTest {

    private static final int MESSAGES = 7;

    @BeforeAll
    static void warm() {
        // The seeds once, unmeasured: loading and initialising classes is not counted.
        for (byte[] seed : SeedCorpus.existing(NativeWireFuzzTest.class,
                "nativeMessagesReadOrFailWithInvalidArgument")) {
            check(seed, false);
        }
    }

    @FuzzTest
    void nativeMessagesReadOrFailWithInvalidArgument(byte[] input) {
        AllocationMeter.repeatIfFirstExceeds(() -> check(input, true));
    }

    private static void check(byte[] input, boolean metered) {
        if (input.length == 0) {
            return;
        }
        int which = Byte.toUnsignedInt(input[0]) % MESSAGES;
        NativeWire.Reader r = new NativeWire.Reader(ByteBuffer.wrap(input, 1, input.length - 1), "fuzz");
        AllocationMeter meter = AllocationMeter.start();
        try {
            read(which, r);
        } catch (BatonException e) {
            assertEquals(Status.Code.INVALID_ARGUMENT, e.status().code(), e::toString);
        }
        if (metered) {
            meter.assertAtMost(64L * 1024 + 16L * input.length, 0, "reading native message " + which);
        }
    }

    private static void read(int which, NativeWire.Reader r) {
        switch (which) {
            case 0 -> {                                         // REGISTER request
                checkName(r.name("key"));
                checkName(r.name("service"));
                r.i32();
                r.bytes();
                r.end();
            }
            case 1, 3 -> {                                      // UNREGISTER, RELEASE requests
                r.i64();
                r.end();
            }
            case 2 -> {                                         // REQUEST request
                checkName(r.name("key"));
                r.i32();
                r.i64();
                r.end();
            }
            case 4 -> r.end();                                  // SUMMARY request
            case 5 -> r.i64();                                  // REGISTER response
            default -> {                                        // REQUEST response
                r.i64();
                r.string();
                r.i32();
                r.i32();
                Instant.ofEpochMilli(r.i64());
                r.string();
            }
        }
    }

    private static void checkName(String name) {
        assertTrue(!name.isEmpty() && name.length() <= NativeWire.MAX_NAME_CHARS, "name of " + name.length());
    }

    /** Every message as {@link NativeWire.Writer} writes it for the client and the service. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(NativeWireFuzzTest.class, "nativeMessagesReadOrFailWithInvalidArgument");
        seeds.write("register", seed(0, new NativeWire.Writer().string("rasp").string("kv").i32(2)
                .bytes(new byte[32])));
        seeds.write("unregister", seed(1, new NativeWire.Writer().i64(77)));
        seeds.write("request", seed(2, new NativeWire.Writer().string("rasp").i32(1).i64(60_000)));
        seeds.write("release", seed(3, new NativeWire.Writer().i64(78)));
        seeds.write("summary", seed(4, new NativeWire.Writer()));
        seeds.write("register-response", seed(5, new NativeWire.Writer().i64(77)));
        seeds.write("request-response", seed(6, new NativeWire.Writer().i64(78).string("kv").i32(2).i32(1)
                .i64(1_765_000_000_000L).string("lease-token")));
        seeds.write("name-too-long", seed(2, new NativeWire.Writer().string("k".repeat(300)).i32(1).i64(1)));
    }

    private static byte[] seed(int which, NativeWire.Writer w) {
        ByteBuffer b = w.done();
        byte[] input = new byte[1 + b.remaining()];
        input[0] = (byte) which;
        b.get(input, 1, b.remaining());
        return input;
    }
}
