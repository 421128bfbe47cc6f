package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Child process: a node that calls the echo service while servers, clients, the master or the network fail,
 * and classifies how every call ended.
 *
 * <p>Usage: {@code ChaosClientMain <master host:port> <clientId> <calls> [--threads N] [--timeout-ms N]
 * [--bind HOST] [--min-duration-ms N] [--interval-ms N] [--outcomes FILE] [--print-calls]}.
 *
 * <h2>Calls</h2>
 * Call number {@code i} carries the request id {@link #requestId(int, int, boolean)} in its first 8 bytes
 * (followed by up to 248 random bytes), so servers can record which requests they executed. Even-numbered
 * calls are idempotent ({@link CallOptions#withIdempotent}), odd ones are not. Every call has a deadline of
 * {@code --timeout-ms} (default 2000). {@code calls} of 0 means: call until stdin reaches end-of-file, then stop
 * gracefully; otherwise make exactly {@code calls} calls from {@code --threads} threads (default 2), started no
 * faster than {@code --min-duration-ms} allows (call {@code i} not before {@code i * minDuration / calls} after
 * the first), each thread pausing {@code --interval-ms} after each call; end-of-file on stdin then aborts the run
 * (exit 3).
 *
 * <h2>Output</h2>
 * {@code STARTED rank=R} once a server is known, {@code CALLING} after the first call that succeeded,
 * {@code CALL n OUTCOME ms} per call with {@code --print-calls} (OUTCOME is OK, a status code name, or
 * WRONG_ECHO), and at the end one machine-readable line:
 * <pre>
 * DONE calls=N ok=N idempotentOk=N idempotentFailed=N otherOk=N otherFailed=N late=N maxMs=N [CODE=N ...]
 * </pre>
 * where {@code late} counts calls that returned more than {@value #LATE_SLACK_MS} ms after their deadline and
 * {@code CODE=N} counts failures per status code (WRONG_ECHO for a response that is not the request). With
 * {@code --outcomes FILE}, one byte per call number is written to FILE before DONE: 0 for success, the status
 * code's value for a failure, {@value #WRONG_ECHO} for a wrong echo. Exits 0. The first
 * {@value #MAX_REPORTED_FAILURES} failures are described on stderr.
 */
public final class ChaosClientMain {

    /** A call that returns later than its deadline plus this is late. */
    static final long LATE_SLACK_MS = 1_000;
    /** Outcome byte of a response that differs from its request (or a non-Baton exception). */
    static final int WRONG_ECHO = 255;
    private static final long IDEMPOTENT_BIT = Long.MIN_VALUE;
    private static final int MAX_EXTRA_BYTES = 248;
    private static final int MAX_REPORTED_FAILURES = 200;

    private final Client echo;
    private final CallOptions plain;
    private final CallOptions idempotent;
    private final long timeoutMs;
    private final int clientId;
    private final boolean printCalls;
    private final LongAdder idempotentOk = new LongAdder();
    private final LongAdder idempotentFailed = new LongAdder();
    private final LongAdder otherOk = new LongAdder();
    private final LongAdder otherFailed = new LongAdder();
    private final LongAdder late = new LongAdder();
    private final AtomicLong maxNs = new AtomicLong();
    private final Map<String, LongAdder> failures = new ConcurrentSkipListMap<>();
    private final AtomicBoolean calling = new AtomicBoolean();
    private final AtomicInteger reportedFailures = new AtomicInteger();

    private ChaosClientMain(Client echo, int clientId, long timeoutMs, boolean printCalls) {
        this.echo = echo;
        this.clientId = clientId;
        this.timeoutMs = timeoutMs;
        this.printCalls = printCalls;
        this.plain = CallOptions.DEFAULT.withTimeout(Duration.ofMillis(timeoutMs));
        this.idempotent = plain.withIdempotent(true);
    }

    /** The id call {@code call} of client {@code clientId} carries; the top bit says it is idempotent. */
    static long requestId(int clientId, int call, boolean idempotent) {
        return (idempotent ? IDEMPOTENT_BIT : 0L) | ((long) clientId << 32) | (call & 0xFFFF_FFFFL);
    }

    static boolean isIdempotent(long requestId) {
        return requestId < 0;
    }

    static int clientOf(long requestId) {
        return (int) ((requestId & ~IDEMPOTENT_BIT) >>> 32);
    }

    static int callOf(long requestId) {
        return (int) requestId;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            usage();
        }
        int clientId = Integer.parseInt(args[1]);
        int calls = Integer.parseInt(args[2]);
        int threads = 2;
        long timeoutMs = 2_000;
        String bindHost = "127.0.0.1";
        long minDurationMs = 0;
        long intervalMs = 0;
        Path outcomesFile = null;
        boolean printCalls = false;
        for (int i = 3; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(argument(args, ++i));
                case "--timeout-ms" -> timeoutMs = Long.parseLong(argument(args, ++i));
                case "--bind" -> bindHost = argument(args, ++i);
                case "--min-duration-ms" -> minDurationMs = Long.parseLong(argument(args, ++i));
                case "--interval-ms" -> intervalMs = Long.parseLong(argument(args, ++i));
                case "--outcomes" -> outcomesFile = Path.of(argument(args, ++i));
                case "--print-calls" -> printCalls = true;
                default -> usage();
            }
        }
        if (clientId < 0 || calls < 0 || threads < 1 || timeoutMs < 1) {
            usage();
        }
        AtomicBoolean stopping = new AtomicBoolean();
        if (calls > 0) {
            ChildSupport.exitWhenStdinCloses(3);
        } else {
            Thread.ofPlatform().daemon(true).name("stdin-watch").start(() -> {
                ChildSupport.awaitStdinEof();
                stopping.set(true);
            });
        }

        byte[] outcomes = new byte[calls];
        ChaosClientMain client;
        AtomicInteger next = new AtomicInteger();
        NodeOptions options = NodeOptions.builder().master(args[0]).bind(new InetSocketAddress(bindHost, 0))
                .name("chaos-client-" + clientId).build();
        try (Node node = Node.join(options)) {
            client = new ChaosClientMain(node.client(EchoServerMain.SERVICE), clientId, timeoutMs, printCalls);
            client.echo.awaitServers(1, Duration.ofSeconds(30));
            ChildSupport.println("STARTED rank=" + node.rank());
            long startNs = System.nanoTime();
            long minDurationNs = Duration.ofMillis(minDurationMs).toNanos();
            long intervalNs = Duration.ofMillis(intervalMs).toNanos();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofPlatform().name("caller-" + t).start(() -> {
                    for (int i = next.getAndIncrement(); calls == 0 ? !stopping.get() : i < calls;
                         i = next.getAndIncrement()) {
                        if (minDurationNs > 0) {
                            parkUntil(startNs + minDurationNs * i / calls);
                        }
                        int outcome = client.callOnce(i);
                        if (calls > 0) {
                            outcomes[i] = (byte) outcome;
                        }
                        if (intervalNs > 0) {
                            LockSupport.parkNanos(intervalNs);
                        }
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
        }
        if (outcomesFile != null) {
            Files.write(outcomesFile, outcomes);
        }
        ChildSupport.println(client.doneLine(calls > 0 ? calls : next.get() - threads));
        System.exit(0);
    }

    private static void usage() {
        System.err.println("usage: ChaosClientMain <master host:port> <clientId> <calls> [--threads N] [--timeout-ms N]"
                + " [--bind HOST] [--min-duration-ms N] [--interval-ms N] [--outcomes FILE] [--print-calls]");
        System.exit(2);
    }

    private static String argument(String[] args, int i) {
        if (i >= args.length) {
            usage();
        }
        return args[i];
    }

    /** Pacing, not waiting for a condition: the caller's schedule says when the next call may start. */
    private static void parkUntil(long nanoTime) {
        for (long left = nanoTime - System.nanoTime(); left > 0; left = nanoTime - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    /** Makes call {@code i}; returns its outcome byte (0 for success). */
    private int callOnce(int i) {
        boolean isIdempotent = i % 2 == 0;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        byte[] request = new byte[Long.BYTES + random.nextInt(MAX_EXTRA_BYTES + 1)];
        random.nextBytes(request);
        ByteBuffer.wrap(request).putLong(0, requestId(clientId, i, isIdempotent));
        String outcome;
        int code;
        long startNs = System.nanoTime();
        try (Message response = echo.call(EchoServerMain.ECHO, ByteBuffer.wrap(request),
                isIdempotent ? idempotent : plain)) {
            boolean intact = response.buffer().equals(ByteBuffer.wrap(request));
            outcome = intact ? "OK" : "WRONG_ECHO";
            code = intact ? 0 : WRONG_ECHO;
        } catch (BatonException e) {
            outcome = e.code().name();
            code = e.code().value();
            if (reportedFailures.incrementAndGet() <= MAX_REPORTED_FAILURES) {
                System.err.println("call " + i + (isIdempotent ? " (idempotent)" : "") + " failed after "
                        + (System.nanoTime() - startNs) / 1_000_000 + " ms: " + e.getMessage());
            }
        } catch (RuntimeException e) {
            System.err.println("call " + i + " threw " + e);
            outcome = "WRONG_ECHO";
            code = WRONG_ECHO;
        }
        long elapsedNs = System.nanoTime() - startNs;
        maxNs.accumulateAndGet(elapsedNs, Math::max);
        if (elapsedNs > Duration.ofMillis(timeoutMs + LATE_SLACK_MS).toNanos()) {
            late.increment();
            System.err.println("call " + i + " returned " + elapsedNs / 1_000_000 + " ms after it started: " + outcome);
        }
        if (code == 0) {
            (isIdempotent ? idempotentOk : otherOk).increment();
            if (!calling.getAndSet(true)) {
                ChildSupport.println("CALLING");
            }
        } else {
            (isIdempotent ? idempotentFailed : otherFailed).increment();
            failures.computeIfAbsent(outcome, k -> new LongAdder()).increment();
        }
        if (printCalls) {
            ChildSupport.println("CALL " + i + " " + outcome + " " + elapsedNs / 1_000_000);
        }
        return code;
    }

    private String doneLine(int calls) {
        StringBuilder b = new StringBuilder("DONE calls=").append(calls)
                .append(" ok=").append(idempotentOk.sum() + otherOk.sum())
                .append(" idempotentOk=").append(idempotentOk.sum())
                .append(" idempotentFailed=").append(idempotentFailed.sum())
                .append(" otherOk=").append(otherOk.sum())
                .append(" otherFailed=").append(otherFailed.sum())
                .append(" late=").append(late.sum())
                .append(" maxMs=").append(maxNs.get() / 1_000_000);
        failures.forEach((code, n) -> b.append(' ').append(code).append('=').append(n.sum()));
        return b.toString();
    }

    /** Parses the {@code key=value} fields of a {@code DONE} line. */
    static Map<String, Long> doneFields(String line) {
        Map<String, Long> fields = new LinkedHashMap<>();
        for (String field : line.substring("DONE ".length()).split(" ")) {
            int eq = field.indexOf('=');
            fields.put(field.substring(0, eq), Long.parseLong(field.substring(eq + 1)));
        }
        return fields;
    }
}
