package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The accumulator protocol: two Baton services and their messages. All integers big-endian; {@code str} is a
 * u16 byte length then UTF-8; {@code bytes} an i32 length then the bytes.
 *
 * <h2>Services</h2>
 * <ul>
 *   <li>{@value #SERVICE}, server id 0: the accumulator server, on one node of the cluster. Methods
 *       {@link #BATCH}, {@link #READ}, {@link #RESET}, {@link #ERASE}, {@link #ERASE_ALL}.</li>
 *   <li>{@value #PEER_SERVICE}: one server on every node with {@link Accumulators} attached, addressed by rank.
 *       Methods {@link #NOTIFY} (the server tells nodes about resets and erasures) and {@link #TAKEOVER} (a
 *       server hands its whole state to its successor).</li>
 * </ul>
 *
 * <h2>BATCH request</h2>
 * <pre>
 *  0               1               2               3
 * +---------------+---------------+---------------+---------------+
 * |   version=1   | kind 0 DELTA  |   priority    |   reserved    |
 * |               |      1 FULL   |  0, 1 or 2    |               |
 * +---------------+---------------+---------------+---------------+
 * |        client id (i64): random, one per Accumulators instance   |
 * +---------------------------------------------------------------+
 * |                     client node id (i64)                      |
 * +---------------------------------------------------------------+
 * |                      client rank (i32)                        |
 * +---------------------------------------------------------------+
 * |                  sequence number (i64), from 1                |
 * +---------------------------------------------------------------+
 * |  incarnation of the server that acked this client last (i64),  |
 * |                        0 if none yet                          |
 * +---------------------------------------------------------------+
 * |                      entry count (i32)                        |
 * +---------------------------------------------------------------+
 * | entry: name str | type ref u16 [type str when ref is new] |     |
 * |        generation i64 | state bytes (see Partial)               |
 * +---------------------------------------------------------------+
 * </pre>
 * A type ref equal to the number of types seen so far in the batch introduces a new type, whose name
 * follows; a smaller one repeats an earlier type. A DELTA carries what changed since the previous batch; a
 * FULL carries the client's whole contribution, sent to a new server that asked for it.
 *
 * <h2>Versions</h2>
 * A node refuses a batch of another version. States are length-prefixed and the built-in decoders read the
 * fields they know at fixed offsets, so a state may grow a trailing optional part without a new version, as
 * the timer's histogram did (see {@link Partial}): older nodes ignore it, newer ones take its absence as "no
 * histogram". A change that older nodes would misread needs {@link #VERSION} 2.
 *
 * <h2>BATCH response</h2>
 * <pre>
 * | result u8: 0 APPLIED, 1 REBUILD (nothing applied: send your FULL state) | incarnation i64 |
 * | count i32 | count x (entry index i32, server generation i64)  -- entries whose generation differs
 * | count i32 | count x (entry index i32, status code i32, message str)  -- rejected entries
 * </pre>
 *
 * <h2>READ</h2>
 * Request: {@code all u8 | name str (when all = 0)}. Response: {@code count i32}, then per accumulator
 * {@code name str | type str | generation i64 | rendering bytes (UTF-8) | state bytes}.
 *
 * <h2>RESET, ERASE, ERASE_ALL</h2>
 * Request: {@code name str} (none for ERASE_ALL). Response: {@code count i32}, how many names were affected.
 *
 * <h2>NOTIFY</h2>
 * Request: {@code count i32}, then {@code name str | generation i64 | erased u8}. Empty response.
 *
 * <h2>TAKEOVER</h2>
 * Request: the handing-over rank ({@code i32}), then the server's state: {@code incarnation i64 | entries (count i32, then name str | type str |
 * generation i64 | creator rank i32 | state bytes) | tombstones (count i32, then name str | generation i64) |
 * clients (count i32, then client id i64 | node id i64 | rank i32 | priority u8 | last sequence i64 |
 * last response bytes)}.
 * Empty response.
 */
final class Protocol {

    static final String SERVICE = "_baton.accumulator";
    static final String PEER_SERVICE = "_baton.accumulator.peer";

    static final int BATCH = 1;
    static final int READ = 2;
    static final int RESET = 3;
    static final int ERASE = 4;
    static final int ERASE_ALL = 5;

    static final int NOTIFY = 1;
    static final int TAKEOVER = 2;

    static final int VERSION = 1;
    static final int DELTA = 0;
    static final int FULL = 1;

    static final int APPLIED = 0;
    static final int REBUILD = 1;

    private Protocol() {
    }

    // ------------------------------------------------------------------ BATCH

    /** Writes a batch header; returns the position of the entry count, to patch with {@link #endBatch}. */
    static int beginBatch(Wire.Out out, int kind, int priority, long clientId, long nodeId, int rank, long seq,
                          long expected) {
        out.putByte(VERSION).putByte(kind).putByte(priority).putByte(0)
                .putLong(clientId).putLong(nodeId).putInt(rank).putLong(seq).putLong(expected);
        int countAt = out.position();
        out.putInt(0);
        return countAt;
    }

    static void endBatch(Wire.Out out, int countAt, int entries) {
        out.putIntAt(countAt, entries);
    }

    /** Writes batch entries, numbering types as they first appear. One per batch; not thread-safe. */
    static final class EntryWriter {
        private final Map<String, Integer> types = new HashMap<>();

        /** Appends one entry; if {@code state} fails to serialize, throws and forgets a type it introduced. */
        void entry(Wire.Out out, byte[] nameUtf8, String type, long gen, Partial state) {
            out.putUtf8(nameUtf8);
            Integer ref = types.get(type);
            boolean introduced = ref == null;
            if (introduced) {
                ref = types.size();
                types.put(type, ref);
            }
            try {
                out.putByte(ref >>> 8).putByte(ref);
                if (introduced) {
                    out.putString(type);
                }
                out.putLong(gen);
                int lenAt = out.position();
                out.putInt(0);
                state.write(out);
                out.putIntAt(lenAt, out.position() - lenAt - 4);
            } catch (RuntimeException e) {
                if (introduced) {
                    types.remove(type);
                }
                throw e;
            }
        }
    }

    record BatchHeader(int kind, int priority, long clientId, long nodeId, int rank, long seq, long expected,
                       int entries) {
    }

    static BatchHeader readBatchHeader(Wire.In in) {
        int version = in.getByte();
        if (version != VERSION) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "accumulator protocol version " + version
                    + " is not supported (this node speaks " + VERSION + ")").asException();
        }
        int kind = in.getByte();
        int priority = in.getByte();
        in.getByte();
        BatchHeader h = new BatchHeader(kind, priority, in.getLong(), in.getLong(), in.getInt(), in.getLong(),
                in.getLong(), in.getInt());
        if (kind != DELTA && kind != FULL || h.entries() < 0) {
            throw Status.of(Status.Code.INVALID_ARGUMENT, "malformed accumulator batch header").asException();
        }
        return h;
    }

    /** Reads entries in order, resolving type refs. One per batch; not thread-safe. */
    static final class EntryReader {
        private final List<String> types = new ArrayList<>();
        String name;
        String type;
        long gen;
        ByteBuffer state;

        void next(Wire.In in) {
            name = in.getString();
            int ref = (in.getByte() << 8) | in.getByte();
            if (ref == types.size()) {
                types.add(in.getString());
            } else if (ref > types.size()) {
                throw Status.of(Status.Code.INVALID_ARGUMENT, "malformed accumulator batch (type ref " + ref
                        + ")").asException();
            }
            type = types.get(ref);
            gen = in.getLong();
            state = in.getSlice();
        }
    }

    /** A decoded BATCH response. */
    record Ack(int result, long incarnation, Map<Integer, Long> gens, Map<Integer, BatonException> rejected) {
    }

    static Ack readAck(ByteBuffer response) {
        Wire.In in = Wire.in(response);
        int result = in.getByte();
        long incarnation = in.getLong();
        int n = in.getInt();
        Map<Integer, Long> gens = n == 0 ? Map.of() : new HashMap<>();
        for (int i = 0; i < n; i++) {
            gens.put(in.getInt(), in.getLong());
        }
        int r = in.getInt();
        Map<Integer, BatonException> rejected = r == 0 ? Map.of() : new HashMap<>();
        for (int i = 0; i < r; i++) {
            int index = in.getInt();
            Status.Code code = Status.Code.of(in.getInt());
            rejected.put(index, Status.of(code, in.getString()).asException());
        }
        return new Ack(result, incarnation, gens, rejected);
    }

    // ------------------------------------------------------------------ READ

    static ByteBuffer readRequest(String nameOrNull) {
        Wire.Out out = new Wire.Out(64).putBoolean(nameOrNull == null);
        if (nameOrNull != null) {
            out.putString(nameOrNull);
        }
        return out.copy();
    }

    static Map<String, AccumulatorValue> readValues(ByteBuffer response) {
        Wire.In in = Wire.in(response);
        int n = in.getInt();
        Map<String, AccumulatorValue> out = new java.util.TreeMap<>();
        for (int i = 0; i < n; i++) {
            String name = in.getString();
            String type = in.getString();
            in.getLong();
            String rendered = new String(in.getBytes(), StandardCharsets.UTF_8);
            ByteBuffer state = in.getSlice();
            out.put(name, Partial.decode(name, type, state, rendered));
        }
        return out;
    }

    static ByteBuffer nameRequest(String name) {
        return new Wire.Out(64).putString(name).copy();
    }

    static int readCount(ByteBuffer response) {
        return Wire.in(response).getInt();
    }
}
