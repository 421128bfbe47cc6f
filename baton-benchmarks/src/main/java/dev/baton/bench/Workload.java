package dev.baton.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * What the harness asks of every system: a payload size, how many calls each client thread keeps
 * outstanding, how many client threads, and how many server nodes share the load. The same for every system.
 *
 * <p>A workload with one thread and one outstanding call is driven with the system's blocking call; the others
 * with its asynchronous call in a closed loop (each completion issues the next call from the thread that
 * completed it), which is how gRPC's own benchmark client drives load.
 */
enum Workload {

    SEQ_16B("seq-16b", "sequential 16 B calls, 1 outstanding", 16, 1, 1, 1),
    PIPE_16B_64("pipe-16b-64", "64 outstanding 16 B calls on one connection", 16, 64, 1, 1),
    ECHO_1MIB_1("echo-1mib-1", "1 MiB echoes, 1 outstanding", 1 << 20, 1, 1, 1),
    ECHO_1MIB_8("echo-1mib-8", "1 MiB echoes, 8 outstanding", 1 << 20, 8, 1, 1),
    FANOUT_4X64("fanout-4x64", "4 client threads x 64 outstanding 16 B calls across 2 server nodes", 16, 64, 4, 2),
    ECHO_1MIB_TEXT("echo-1mib-text", "1 MiB echoes of compressible text (words with digits), 1 outstanding",
            1 << 20, 1, 1, 1, Content.TEXT),
    ECHO_1MIB_RANDOM("echo-1mib-random", "1 MiB echoes of random bytes (incompressible), 1 outstanding",
            1 << 20, 1, 1, 1, Content.RANDOM),
    ECHO_16KIB_8("echo-16kib-8", "16 KiB echoes, 8 outstanding (a shard of a tensor, a batch of records)",
            16 * 1024, 8, 1, 1),
    STREAM_16B("stream-16b", "one server stream of 16 B messages, as fast as its flow control lets them; a call is"
            + " one message received", 16, 1, 1, 1, Content.ZEROS, true),
    STREAM_64KIB("stream-64kib", "one server stream of 64 KiB messages, as fast as its flow control lets them; a call"
            + " is one message received", 64 * 1024, 1, 1, 1, Content.ZEROS, true);

    /** What the payload's bytes are: only compression cares. */
    enum Content {
        /** All zero (the other workloads: the fastest case for any compressor, so they are not run with one). */
        ZEROS,
        /** Words and digits from a small vocabulary, as logs or text-encoded tensors: zstd shrinks it about 4x. */
        TEXT,
        /** Random bytes: nothing to gain, the cost of trying. */
        RANDOM
    }

    final String id;
    final String description;
    final int payloadBytes;
    /** Calls each client thread keeps outstanding. */
    final int depth;
    final int threads;
    final int servers;

    final Content content;
    /** Messages of one server stream instead of calls (systems with streams only: Baton's and gRPC). */
    final boolean stream;

    Workload(String id, String description, int payloadBytes, int depth, int threads, int servers) {
        this(id, description, payloadBytes, depth, threads, servers, Content.ZEROS, false);
    }

    Workload(String id, String description, int payloadBytes, int depth, int threads, int servers, Content content) {
        this(id, description, payloadBytes, depth, threads, servers, content, false);
    }

    Workload(String id, String description, int payloadBytes, int depth, int threads, int servers, Content content,
             boolean stream) {
        this.content = content;
        this.stream = stream;
        this.id = id;
        this.description = description;
        this.payloadBytes = payloadBytes;
        this.depth = depth;
        this.threads = threads;
        this.servers = servers;
    }

    /**
     * Run when no --workloads are named: the calls of zero payloads but the medium one; compression, streams and
     * 16 KiB echoes only when named.
     */
    boolean inDefaultRun() {
        return content == Content.ZEROS && !stream && this != ECHO_16KIB_8;
    }

    /** The payload every system sends for this workload (the same bytes for all of them). */
    byte[] payload() {
        byte[] out = new byte[payloadBytes];
        java.util.Random r = new java.util.Random(42);
        switch (content) {
            case ZEROS -> {
            }
            case RANDOM -> r.nextBytes(out);
            case TEXT -> {
                String[] words = {"tensor ", "gradient ", "rank ", "shard ", "epoch ", "batch ", "loss=0.", "step "};
                int i = 0;
                while (i < out.length) {
                    byte[] w = (words[r.nextInt(words.length)] + r.nextInt(10)).getBytes(
                            java.nio.charset.StandardCharsets.US_ASCII);
                    int n = Math.min(w.length, out.length - i);
                    System.arraycopy(w, 0, out, i, n);
                    i += n;
                }
            }
        }
        return out;
    }

    /** True when driven with blocking calls (one thread, one call at a time), or messages of a stream. */
    boolean sequential() {
        return depth == 1 && threads == 1;
    }

    /** True for the bulk workloads, whose headline number is MB/s rather than calls/s. */
    boolean bulk() {
        return payloadBytes >= 64 * 1024;
    }

    static Workload byId(String id) {
        for (Workload w : values()) {
            if (w.id.equals(id)) {
                return w;
            }
        }
        throw new IllegalArgumentException("unknown workload '" + id + "'; known: " + ids());
    }

    static String ids() {
        return Arrays.stream(values()).map(w -> w.id).collect(Collectors.joining(", "));
    }
}
