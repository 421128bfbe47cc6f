package dev.baton.internal.registry;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.Message;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;
import dev.baton.internal.wire.WireWriter;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the one message a node's coordination client decodes without having asked for it: the master's KV_EVENT
 * ({@link CoordinationClient#onKvEvent}), read on the control connection's I/O thread. Input: the event's body.
 *
 * <p>Contract checked: a malformed event is dropped (logged), nothing is thrown onto the I/O thread; a well-formed
 * one hands exactly one task to the event executor, which runs without throwing; decoding allocates in proportion
 * to the body (the watch id count is checked against the bytes left).
 */
@Timeout(60)
class CoordinationClientFuzzTest {

    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");

    @BeforeAll
    static void warm() {
        // The first event loads and initialises classes: not what the meter is for.
        deliver(bytes(new WireWriter().putString("k").putByte(1).putBytes(new byte[1]).putInt(1).putLong(1)), false);
        deliver(new byte[1], false);
    }

    @FuzzTest
    void keyValueEventsDecodeOrAreDropped(byte[] input) {
        AllocationMeter.repeatIfFirstExceeds(() -> deliver(input, true));
    }

    private static void deliver(byte[] input, boolean metered) {
        List<Runnable> tasks = new ArrayList<>();
        CoordinationClient client = new CoordinationClient(null, tasks::add, Duration.ofSeconds(1));
        AllocationMeter meter = AllocationMeter.start();
        client.onKvEvent(Message.wrap(input));
        if (metered) {
            meter.assertAtMost(64L * 1024 + 16L * input.length, 0, "decoding a KV_EVENT of " + input.length + " bytes");
        }
        assertTrue(tasks.size() <= 1, "one event, " + tasks.size() + " deliveries");
        tasks.forEach(Runnable::run);
    }

    /** KV_EVENTs as the master writes them: a change, a deletion, several watches; and a count that lies. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() {
        SeedCorpus seeds = SeedCorpus.of(CoordinationClientFuzzTest.class, "keyValueEventsDecodeOrAreDropped");
        seeds.write("put", bytes(new WireWriter().putString("cfg/a").putByte(1).putBytes(new byte[] {1, 2, 3})
                .putInt(1).putLong(7)));
        seeds.write("delete", bytes(new WireWriter().putString("cfg/a").putByte(0).putInt(2).putLong(7).putLong(8)));
        seeds.write("count-lies", bytes(new WireWriter().putString("k").putByte(0).putInt(Integer.MAX_VALUE)
                .putLong(1)));
    }

    private static byte[] bytes(WireWriter w) {
        ByteBuffer b = w.toBuffer();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }
}
