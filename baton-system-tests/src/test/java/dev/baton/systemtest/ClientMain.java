package dev.baton.systemtest;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Child process: a node that calls the echo service and checks every answer byte for byte.
 *
 * <p>Usage: {@code ClientMain <master host:port> <calls> <seed> [threads]}. Waits for one echo server, then
 * makes {@code calls} calls from {@code threads} threads (default 8). Payload sizes come from a
 * {@code Random(seed)}: 0 to 64 KiB, and 1 to 2 MiB for every 100th call; the bytes of call {@code i} are
 * random too, derived from the seed and {@code i}, so a failing run can be replayed. Prints
 * {@code STATS ...}, then {@code DONE ok=X failed=Y}, and exits 0 when every call succeeded, 1 otherwise.
 * The first failures are described on stderr. Exits 3 at once if stdin reaches end-of-file (the parent is gone).
 */
public final class ClientMain {

    private static final int KIB = 1024;
    private static final int MIB = 1024 * KIB;
    private static final int MAX_REPORTED_FAILURES = 20;

    private ClientMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: ClientMain <master host:port> <calls> <seed> [threads]");
            System.exit(2);
        }
        ChildSupport.exitWhenStdinCloses(3);
        int calls = Integer.parseInt(args[1]);
        long seed = Long.parseLong(args[2]);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 8;
        int[] sizes = payloadSizes(calls, seed);

        LongAdder ok = new LongAdder();
        LongAdder failed = new LongAdder();
        LongAdder bytes = new LongAdder();
        AtomicInteger next = new AtomicInteger();
        long startNs;
        NodeOptions options = NodeOptions.builder().master(args[0]).name("client").build();
        try (Node node = Node.join(options)) {
            Client echo = node.client(EchoServerMain.SERVICE);
            echo.awaitServers(1, Duration.ofSeconds(30));
            startNs = System.nanoTime();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(Thread.ofPlatform().name("caller-" + t).start(() -> {
                    for (int i = next.getAndIncrement(); i < calls; i = next.getAndIncrement()) {
                        String failure = callOnce(echo, payload(seed, i, sizes[i]));
                        if (failure == null) {
                            ok.increment();
                            bytes.add(sizes[i]);
                        } else {
                            failed.increment();
                            if (failed.sum() <= MAX_REPORTED_FAILURES) {
                                System.err.println("call " + i + " (" + sizes[i] + " bytes) failed: " + failure);
                            }
                        }
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
        }
        long elapsedMs = (System.nanoTime() - startNs) / 1_000_000L;
        ChildSupport.println("STATS calls=" + calls + " threads=" + threads + " payloadBytes=" + bytes.sum()
                + " ms=" + elapsedMs);
        ChildSupport.println("DONE ok=" + ok.sum() + " failed=" + failed.sum());
        System.exit(ok.sum() == calls && failed.sum() == 0 ? 0 : 1);
    }

    static int[] payloadSizes(int calls, long seed) {
        Random random = new Random(seed);
        int[] sizes = new int[calls];
        for (int i = 0; i < calls; i++) {
            sizes[i] = i % 100 == 99 ? MIB + random.nextInt(MIB + 1) : random.nextInt(64 * KIB + 1);
        }
        return sizes;
    }

    private static byte[] payload(long seed, int call, int size) {
        byte[] p = new byte[size];
        new Random(seed * 0x9E3779B97F4A7C15L + call).nextBytes(p);
        return p;
    }

    /** Makes one call; returns null when the echo came back intact, otherwise what went wrong. */
    private static String callOnce(Client echo, byte[] request) {
        ByteBuffer expected = ByteBuffer.wrap(request);
        try (Message response = echo.call(EchoServerMain.ECHO, ByteBuffer.wrap(request))) {
            ByteBuffer actual = response.buffer();
            int mismatch = actual.mismatch(expected);
            if (mismatch >= 0) {
                return "echo differs at byte " + mismatch + " (got " + actual.remaining() + " bytes, sent "
                        + request.length + ")";
            }
            return null;
        } catch (BatonException e) {
            return e.code() + ": " + e.getMessage();
        } catch (RuntimeException e) {
            return e.toString();
        }
    }
}
