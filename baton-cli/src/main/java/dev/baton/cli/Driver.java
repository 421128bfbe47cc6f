package dev.baton.cli;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.ServerInfo;
import dev.baton.Status;
import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

/**
 * Makes the demo's calls from one node: for each {@link Workload} in turn, a warm-up (verified, not timed),
 * then {@code callsPerTarget} calls to every target rank, round-robin over the targets and one call at a
 * time, timing each and checking every answer byte for byte against the one computed locally.
 *
 * <p>A call fails by throwing {@link BatonException} or by answering wrong bytes; both count as errors and
 * the first one of each workload is kept for the report. A workload stops early after
 * {@value #MAX_ERRORS_PER_WORKLOAD} errors, so a dead peer costs seconds, not {@code calls * timeout}.
 *
 * <p>Not thread-safe: one thread runs {@link #run} once. Blocks for the whole run, or until the stop
 * request given at construction turns true (checked between rounds of calls).
 */
final class Driver {

    static final int MAX_ERRORS_PER_WORKLOAD = 100;
    /** Distinct requests per workload, cycled, so that an answer for the wrong request is caught. */
    private static final int FIXTURES = 8;
    private static final long AWAIT_SLICE_NS = 200_000_000L;

    private final Node node;
    private final int callsPerTarget;
    private final int payloadBytes;
    private final int warmupCalls;
    private final Duration callTimeout;
    private final BooleanSupplier stopRequested;

    /** {@code stopRequested} is checked between calls: when it turns true, the run ends early. */
    Driver(Node node, int callsPerTarget, int payloadBytes, int warmupCalls, Duration callTimeout,
           BooleanSupplier stopRequested) {
        this.node = node;
        this.callsPerTarget = callsPerTarget;
        this.payloadBytes = payloadBytes;
        this.warmupCalls = warmupCalls;
        this.callTimeout = callTimeout;
        this.stopRequested = stopRequested;
    }

    /**
     * Waits until {@code nodes} nodes serve every workload's service and returns the ranks of the others
     * (sorted), or an empty list if a stop is requested first. Throws {@link BatonException}
     * (DEADLINE_EXCEEDED) when they are not all there within {@code timeout}.
     */
    List<Integer> awaitPeers(int nodes, Duration timeout) throws InterruptedException {
        long endNs = System.nanoTime() + timeout.toNanos();
        Set<Integer> ranks = null;
        for (String service : List.of(DemoServices.ECHO, DemoServices.COMPUTE)) {
            List<ServerInfo> servers = awaitServers(node.client(service), nodes, endNs);
            if (servers == null) {
                return List.of();
            }
            Set<Integer> serving = new TreeSet<>();
            for (ServerInfo s : servers) {
                serving.add(s.rank());
            }
            if (ranks == null) {
                ranks = serving;
            } else {
                ranks.retainAll(serving);
            }
        }
        ranks.remove(node.rank());
        return List.copyOf(ranks);
    }

    /** Waits in short slices, to notice a stop request; null when one came first. */
    private List<ServerInfo> awaitServers(Client client, int count, long endNs) throws InterruptedException {
        while (!stopRequested.getAsBoolean()) {
            long leftNs = endNs - System.nanoTime();
            long sliceNs = Math.max(1, Math.min(leftNs, AWAIT_SLICE_NS));
            try {
                return client.awaitServers(count, Duration.ofNanos(sliceNs));
            } catch (BatonException e) {
                if (e.code() != Status.Code.DEADLINE_EXCEEDED || leftNs <= sliceNs) {
                    throw e;
                }
            }
        }
        return null;
    }

    NodeReport run(List<Integer> targets) {
        Random random = new Random(31L * node.rank() + payloadBytes);
        List<NodeReport.Row> rows = new ArrayList<>();
        long elapsedNs = 0;
        for (Workload w : Workload.values()) {
            NodeReport.Row row = runWorkload(w, targets, fixtures(w, random));
            rows.add(row);
            elapsedNs += row.elapsedNs();
        }
        return new NodeReport(node.rank(), node.options().name(), targets, callsPerTarget, payloadBytes, warmupCalls,
                elapsedNs, rows);
    }

    private NodeReport.Row runWorkload(Workload w, List<Integer> targets, Fixture[] fixtures) {
        Client client = node.client(w.service);
        CallOptions[] options = new CallOptions[targets.size()];
        for (int t = 0; t < options.length; t++) {
            options[t] = CallOptions.DEFAULT.withRank(targets.get(t)).withTimeout(callTimeout);
        }
        Tally tally = new Tally();
        for (int i = 0; i < warmupCalls && going(tally); i++) {
            for (int t = 0; t < options.length; t++) {
                callOnce(w, client, options[t], fixtures[i % FIXTURES], tally, null);
            }
        }
        Histogram latencyNs = new Histogram(3);
        long calls = 0;
        long start = System.nanoTime();
        for (int i = 0; i < callsPerTarget && going(tally); i++) {
            for (int t = 0; t < options.length; t++) {
                callOnce(w, client, options[t], fixtures[i % FIXTURES], tally, latencyNs);
                calls++;
            }
        }
        long elapsedNs = System.nanoTime() - start;
        return new NodeReport.Row(w.label, calls, tally.errors, elapsedNs, tally.firstError, latencyNs);
    }

    private boolean going(Tally tally) {
        return tally.errors < MAX_ERRORS_PER_WORKLOAD && !stopRequested.getAsBoolean();
    }

    private static void callOnce(Workload w, Client client, CallOptions options, Fixture f, Tally tally,
                                 Histogram latencyNs) {
        long start = System.nanoTime();
        try (Message m = client.call(w.method, f.request.duplicate(), options)) {
            long ns = System.nanoTime() - start;
            String wrong = f.check(w, m.buffer());
            if (wrong != null) {
                tally.error("rank " + options.rank() + ": " + wrong);
            } else if (latencyNs != null) {
                latencyNs.recordValue(ns);
            }
        } catch (BatonException e) {
            tally.error("rank " + options.rank() + ": " + e.getMessage());
        }
    }

    private static final class Tally {
        long errors;
        String firstError;

        void error(String what) {
            if (errors++ == 0) {
                firstError = what;
            }
        }
    }

    /** A request (direct, never modified: each call sends a duplicate) and the answer it must get. */
    private record Fixture(ByteBuffer request, byte[] expected) {

        /** Null when {@code answer} is right, otherwise what is wrong with it. */
        String check(Workload w, ByteBuffer answer) {
            int at = answer.mismatch(ByteBuffer.wrap(expected));
            if (at < 0) {
                return null;
            }
            return switch (w) {
                case ECHO -> answer.remaining() != expected.length
                        ? "echo answered " + answer.remaining() + " bytes to a request of " + expected.length
                        : "echo answer differs from the request at byte " + at;
                case SUM -> answer.remaining() != Double.BYTES
                        ? "sum answered " + answer.remaining() + " bytes instead of 8"
                        : "sum was " + answer.order(ByteOrder.LITTLE_ENDIAN).getDouble(0) + ", expected "
                        + ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).getDouble(0);
                case SHA256 -> "SHA-256 answer differs from the digest computed locally (at byte " + at + ")";
            };
        }
    }

    private Fixture[] fixtures(Workload w, Random random) {
        Fixture[] out = new Fixture[FIXTURES];
        for (int i = 0; i < FIXTURES; i++) {
            ByteBuffer request;
            byte[] expected;
            switch (w) {
                case ECHO -> {
                    byte[] bytes = new byte[payloadBytes];
                    random.nextBytes(bytes);
                    request = direct(bytes);
                    expected = bytes;
                }
                case SUM -> {
                    int n = Math.max(1, payloadBytes / Double.BYTES);
                    ByteBuffer doubles = ByteBuffer.allocate(n * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    for (int k = 0; k < n; k++) {
                        doubles.putDouble(random.nextDouble() * 2000 - 1000);
                    }
                    request = direct(doubles.array());
                    expected = DemoServices.encodeDouble(DemoServices.sum(request));
                }
                case SHA256 -> {
                    byte[] bytes = new byte[payloadBytes];
                    random.nextBytes(bytes);
                    request = direct(bytes);
                    expected = DemoServices.sha256(request);
                }
                default -> throw new IllegalStateException("unknown workload " + w);
            }
            out[i] = new Fixture(request, expected);
        }
        return out;
    }

    private static ByteBuffer direct(byte[] bytes) {
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }
}
