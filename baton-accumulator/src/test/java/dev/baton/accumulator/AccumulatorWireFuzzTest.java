package dev.baton.accumulator;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.BatonException;
import dev.baton.Handler;
import dev.baton.Membership;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;
import dev.baton.fuzz.AllocationMeter;
import dev.baton.fuzz.QuietLogging;
import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Fuzzes the accumulator protocol ({@link Protocol}, {@link Wire}, the states of {@link Partial}) where the network
 * hands it over: the accumulator server's real handlers (BATCH, READ, RESET, ERASE, ERASE_ALL) on a server whose node
 * is a stand-in, the state a TAKEOVER hands to a successor ({@link AccumulatorServer#restore}), and what a client
 * reads back (a BATCH answer, a READ answer). Input: a sequence of messages, each {@code op u8 | length u16 LE |
 * body}, against one server (see {@link #run} for the ops).
 *
 * <p>Contract checked: a malformed message fails with {@link BatonException} (INVALID_ARGUMENT for a malformed one,
 * the message's own status otherwise) and nothing else, so the node's runtime never answers INTERNAL for it; what
 * the server answers, its clients can read; and every count and length is checked against the bytes left before
 * anything is allocated (allocations in proportion to the input).
 */
@Timeout(60)
class AccumulatorWireFuzzTest {

    @RegisterExtension
    static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");

    @BeforeAll
    static void warm() throws Exception {
        // The seeds once, unmeasured: loading and initialising classes is not counted.
        for (byte[] seed : SeedCorpus.existing(AccumulatorWireFuzzTest.class,
                "accumulatorMessagesDecodeOrFailWithBatonException")) {
            session(seed, false);
        }
    }

    @FuzzTest
    void accumulatorMessagesDecodeOrFailWithBatonException(byte[] input) throws Exception {
        AllocationMeter.repeatIfFirstExceeds(() -> session(input, true));
    }

    private static void session(byte[] input, boolean metered) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
        Hosted server = new Hosted(AccumulatorServer.create(STAND_IN, AccumulatorOptions.builder().build(), 1, r -> {
        }));
        AllocationMeter meter = AllocationMeter.start();
        int messages = 0;
        while (in.remaining() >= 3) {
            messages++;
            int op = Byte.toUnsignedInt(in.get());
            int length = Math.min(Short.toUnsignedInt(in.getShort()), in.remaining());
            byte[] body = new byte[length];
            in.get(body);
            try {
                server = run(op, body, server);
            } catch (BatonException expected) {
                assertNotNull(expected.status());
            }
        }
        if (metered) {
            // A refused message costs its exception (a stack trace of some KiB, whatever its size): counted apart.
            meter.assertAtMost((1L << 20) + 256L * input.length + 16L * 1024 * messages, 0, "decoding " + messages
                    + " messages in " + input.length + " bytes");
        }
    }

    /**
     * Ops: 0 BATCH, 1 READ, 2 RESET, 3 ERASE, 4 ERASE_ALL to the server (an answer must read back); 5 a BATCH answer
     * and 6 a READ answer as a client reads them; 7 a TAKEOVER state, which replaces the server.
     */
    static Hosted run(int op, byte[] body, Hosted server) throws Exception {
        switch (op % 8) {
            case 0 -> Protocol.readAck(server.call(Protocol.BATCH, body));
            case 1 -> Protocol.readValues(server.call(Protocol.READ, body));
            case 2 -> Protocol.readCount(server.call(Protocol.RESET, body));
            case 3 -> Protocol.readCount(server.call(Protocol.ERASE, body));
            case 4 -> Protocol.readCount(server.call(Protocol.ERASE_ALL, body));
            case 5 -> Protocol.readAck(ByteBuffer.wrap(body));
            case 6 -> Protocol.readValues(ByteBuffer.wrap(body));
            default -> {
                return new Hosted(AccumulatorServer.restore(STAND_IN, AccumulatorOptions.builder().build(), 1, r -> {
                }, ByteBuffer.wrap(body)));
            }
        }
        return server;
    }

    /**
     * Sessions as the real encoders write them ({@link Protocol}, {@link Partial#write}): batches of every built-in
     * type, then reads, a reset, erasures; the answers the server gave; and its TAKEOVER state.
     */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() throws Exception {
        SeedCorpus seeds = SeedCorpus.of(AccumulatorWireFuzzTest.class,
                "accumulatorMessagesDecodeOrFailWithBatonException");
        Hosted server = new Hosted(AccumulatorServer.create(STAND_IN, AccumulatorOptions.builder().build(), 1, r -> {
        }));
        byte[] batch = batch(1, Protocol.DELTA);
        byte[] read = new Wire.Out(8).putBoolean(true).copy().array();
        byte[] readOne = new Wire.Out(16).putBoolean(false).putString("calls").copy().array();
        byte[] name = Protocol.nameRequest("latency").array();
        ByteBuffer ack = server.call(Protocol.BATCH, batch);
        ByteBuffer values = server.call(Protocol.READ, read);
        byte[] takeover = bytes(server.server.freezeAndSnapshot());
        ByteArrayOutputStream session = new ByteArrayOutputStream();
        op(session, 0, batch);
        op(session, 0, batch(2, Protocol.DELTA));
        op(session, 1, read);
        op(session, 1, readOne);
        op(session, 2, name);
        op(session, 3, Protocol.nameRequest("calls").array());
        op(session, 4, new byte[0]);
        op(session, 0, batch(1, Protocol.FULL));
        seeds.write("session", session.toByteArray());
        seeds.write("answers", concat(op(5, bytes(ack)), op(6, bytes(values))));
        seeds.write("takeover", concat(op(7, takeover), op(1, read)));
    }

    private static byte[] batch(long seq, int kind) {
        Wire.Out out = new Wire.Out(256);
        int countAt = Protocol.beginBatch(out, kind, 1, 99, 5, 2, seq, 0);
        Protocol.EntryWriter w = new Protocol.EntryWriter();
        String[] types = {Aggregators.LONG_SUM, Aggregators.LONG_MAX, Aggregators.LONG_MIN, Aggregators.DOUBLE_SUM,
                Aggregators.DOUBLE_MAX, Aggregators.DOUBLE_MIN, Aggregators.AVERAGE, Aggregators.TIMER, "bitset"};
        String[] names = {"calls", "max", "min", "seconds", "dmax", "dmin", "mean", "latency", "custom"};
        int entries = 0;
        for (int i = 0; i < types.length; i++) {
            Partial p = Partial.create(types[i]);
            if (p == null) {
                continue;
            }
            switch (p) {
                case Partial.LongPartial l -> l.add(7);
                case Partial.DoublePartial d -> d.add(2.5);
                case Partial.AveragePartial a -> a.add(3, 9.0);
                case Partial.TimerPartial t -> {
                    t.add(2, 1500.0, 20.0, 1000, 2000);
                    t.addBucket(10, 1);
                    t.addBucket(12, 1);
                }
                default -> {
                }
            }
            w.entry(out, names[i].getBytes(StandardCharsets.UTF_8), types[i], 0, p);
            entries++;
        }
        Protocol.endBatch(out, countAt, entries);
        return out.copy().array();
    }

    private static byte[] op(int op, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        op(out, op, body);
        return out.toByteArray();
    }

    private static void op(ByteArrayOutputStream out, int op, byte[] body) {
        out.write(op);
        out.write(body.length);
        out.write(body.length >>> 8);
        out.writeBytes(body);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** A server and its handlers, as the node would call them. */
    static final class Hosted {
        final AccumulatorServer server;
        private final Map<Integer, Handler> handlers = new HashMap<>();

        Hosted(AccumulatorServer server) {
            this.server = server;
            server.handlers((Server.Builder) Proxy.newProxyInstance(Server.Builder.class.getClassLoader(),
                    new Class<?>[] {Server.Builder.class}, (proxy, m, args) -> {
                        if (m.getName().equals("blocking")) {
                            handlers.put((Integer) args[0], (Handler) args[1]);
                            return proxy;
                        }
                        throw new UnsupportedOperationException(m.getName());
                    }));
        }

        /** Calls method {@code method} with {@code request}; its answer (a BatonException for a failure). */
        ByteBuffer call(int method, byte[] request) throws Exception {
            Call call = new Call(request);
            handlers.get(method).handle(call.proxy());
            if (call.failure != null) {
                throw call.failure.asException();
            }
            assertNotNull(call.answer, "the handler neither answered nor failed");
            return call.answer;
        }
    }

    /** A server call that records the handler's answer. */
    private static final class Call {
        private final byte[] request;
        ByteBuffer answer;
        Status failure;

        Call(byte[] request) {
            this.request = request;
        }

        ServerCall proxy() {
            return (ServerCall) Proxy.newProxyInstance(ServerCall.class.getClassLoader(),
                    new Class<?>[] {ServerCall.class},
                    (p, m, args) -> switch (m.getName()) {
                        case "request" -> Message.wrap(request);
                        case "reply" -> {
                            answer = args[0] instanceof Message msg ? msg.buffer() : (ByteBuffer) args[0];
                            yield null;
                        }
                        case "fail", "refuse" -> {
                            failure = (Status) args[0];
                            yield null;
                        }
                        default -> defaultValue(m.getReturnType());
                    });
        }
    }

    /** The node a server runs on: rank 0 of a cluster where nobody else is. */
    static final Node STAND_IN = (Node) Proxy.newProxyInstance(Node.class.getClassLoader(), new Class<?>[] {Node.class},
            (p, m, args) -> switch (m.getName()) {
                case "membership" -> Membership.empty();
                case "toString" -> "stand-in node";
                case "hashCode" -> 1;
                case "equals" -> p == args[0];
                default -> defaultValue(m.getReturnType());
            });

    private static Object defaultValue(Class<?> type) {
        if (type == boolean.class) {
            return false;
        }
        if (type == long.class) {
            return 0L;
        }
        if (type == int.class) {
            return 0;
        }
        return null;
    }
}
