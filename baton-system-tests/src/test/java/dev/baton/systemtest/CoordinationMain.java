package dev.baton.systemtest;

import dev.baton.Coordination;
import dev.baton.Node;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * Child process: a node that runs one {@link Coordination} scenario and reports it on stdout, for
 * {@link CoordinationProcessTest}.
 *
 * <p>Usage: {@code CoordinationMain <master host:port | zk:CONNECT/ROOT> <scenario> [args...]}. Joins, prints
 * {@code READY rank=R}, then runs the scenario. Timestamps ({@code T}) are wall-clock microseconds since the
 * epoch, comparable between processes on one host.
 * <ul>
 *   <li>{@code barrier <seed>}: waits for the stdin line {@code go}, then for each round {@code r} of
 *       {@link #ROUNDS}: sleeps 0 to {@value #MAX_JITTER_MS} ms (from {@code Random(seed)}, to spread the
 *       arrivals), prints {@code ARRIVE r T}, enters the barrier, prints {@code PASS r T}. Then {@code DONE}.</li>
 *   <li>{@code lock <counter file> <n>}: waits for {@code go}, then {@code n} times: takes lock
 *       {@value #COUNTER_LOCK} twice (reentrant), reads the long in the file, sleeps 1 ms, writes it plus one,
 *       prints {@code INC value-read}, and unlocks twice. Then {@code DONE}.</li>
 *   <li>{@code ids}: for each stdin line {@code next KEY}, prints {@code ID KEY id} with {@code nextId(KEY)}.</li>
 *   <li>{@code hold <lock>}: takes the lock, prints {@code HELD T}, and holds it until stdin ends.</li>
 *   <li>{@code wait <lock> <timeout ms>}: prints {@code TRYLOCK true|false} (the result of {@code tryLock}; a
 *       lock so taken is released at once), then {@code WAITING T}, then takes the lock with the timeout, prints
 *       {@code ACQUIRED T}, unlocks and prints {@code RELEASED}.</li>
 * </ul>
 * Once its scenario is done (at once for {@code ids}; once held for {@code hold}), end-of-file on stdin closes
 * the node and exits 0. End-of-file before that (the parent gave up, or died) exits 3 at once. A scenario that
 * fails prints {@code FAILED description}, with the stack trace on stderr, and exits 1.
 */
public final class CoordinationMain {

    /** The barrier rounds, as prpc's: (name, parties). */
    static final List<Round> ROUNDS = List.of(new Round("b1", 5), new Round("b1", 5), new Round("b2", 5),
            new Round("b1", 5));
    static final String COUNTER_LOCK = "counter";
    private static final int MAX_JITTER_MS = 50;
    private static final Duration WAIT_TIMEOUT = Duration.ofSeconds(30);
    /** Marks end-of-file in {@link #stdin}; compared by identity. */
    private static final String EOF = new String("<eof>");

    private static final BlockingQueue<String> stdin = new LinkedBlockingQueue<>();
    /** Whether end-of-file on stdin is now the normal end (close and exit 0) rather than an abort (exit 3). */
    private static volatile boolean stopGracefully;

    /** One barrier round. */
    record Round(String name, int parties) {
    }

    private CoordinationMain() {
    }

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: CoordinationMain <master host:port> barrier|lock|ids|hold|wait [args...]");
            System.exit(2);
        }
        Thread.ofPlatform().daemon(true).name("stdin-reader").start(CoordinationMain::readStdin);
        String scenario = args[1];
        try (Node node = Node.join(SystemTests.joinOptions(args[0]).name("coordination-" + scenario).build())) {
            ChildSupport.println("READY rank=" + node.rank());
            Coordination co = node.coordination();
            switch (scenario) {
                case "barrier" -> barrier(co, Long.parseLong(args[2]));
                case "lock" -> lock(co, Path.of(args[2]), Integer.parseInt(args[3]));
                case "ids" -> ids(co);
                case "hold" -> hold(co, args[2]);
                case "wait" -> waitFor(co, args[2], Duration.ofMillis(Long.parseLong(args[3])));
                default -> throw new IllegalArgumentException("unknown scenario '" + scenario + "'");
            }
            stopGracefully = true;
            awaitEof();
        } catch (Throwable t) {
            ChildSupport.println("FAILED " + t);
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void barrier(Coordination co, long seed) throws InterruptedException {
        Random random = new Random(seed);
        awaitGo();
        for (int r = 0; r < ROUNDS.size(); r++) {
            Round round = ROUNDS.get(r);
            LockSupport.parkNanos(random.nextInt(MAX_JITTER_MS + 1) * 1_000_000L);
            ChildSupport.println("ARRIVE " + r + " " + nowMicros());
            co.barrier(round.name(), round.parties(), WAIT_TIMEOUT);
            ChildSupport.println("PASS " + r + " " + nowMicros());
        }
        lastLine("DONE");
    }

    private static void lock(Coordination co, Path counter, int acquisitions) throws Exception {
        Coordination.DistributedLock lock = co.lock(COUNTER_LOCK);
        awaitGo();
        for (int i = 0; i < acquisitions; i++) {
            lock.lock(WAIT_TIMEOUT);
            try {
                lock.lock(WAIT_TIMEOUT);   // reentrant: only counts one more hold
                try {
                    if (!lock.isHeldByCurrentThread()) {
                        throw new IllegalStateException("lock not held after lock()");
                    }
                    long value = Long.parseLong(Files.readString(counter, StandardCharsets.UTF_8).trim());
                    Thread.sleep(1);   // widens the window another process would need to interleave
                    Files.writeString(counter, Long.toString(value + 1), StandardCharsets.UTF_8);
                    ChildSupport.println("INC " + value);
                } finally {
                    lock.unlock();
                }
                if (!lock.isHeldByCurrentThread()) {
                    throw new IllegalStateException("the inner unlock released the outer hold");
                }
            } finally {
                lock.unlock();
            }
        }
        lastLine("DONE");
    }

    private static void ids(Coordination co) throws InterruptedException {
        stopGracefully = true;
        for (String line = stdin.take(); line != EOF; line = stdin.take()) {
            if (!line.startsWith("next ")) {
                throw new IllegalArgumentException("unknown command '" + line + "'");
            }
            String key = line.substring("next ".length());
            ChildSupport.println("ID " + key + " " + co.nextId(key));
        }
        stdin.add(EOF);
    }

    private static void hold(Coordination co, String name) throws InterruptedException {
        co.lock(name).lock(WAIT_TIMEOUT);
        lastLine("HELD " + nowMicros());
        // Holds it until stdin ends (the node's close then releases it) or the process is killed.
    }

    private static void waitFor(Coordination co, String name, Duration timeout) throws InterruptedException {
        Coordination.DistributedLock lock = co.lock(name);
        boolean free = lock.tryLock();
        if (free) {
            lock.unlock();
        }
        ChildSupport.println("TRYLOCK " + free);
        ChildSupport.println("WAITING " + nowMicros());
        lock.lock(timeout);
        ChildSupport.println("ACQUIRED " + nowMicros());
        lock.unlock();
        lastLine("RELEASED");
    }

    /**
     * The scenario's last line: the parent may end our stdin as soon as it reads it, so from here on that end is
     * the expected one, not a parent that gave up.
     */
    private static void lastLine(String line) {
        stopGracefully = true;
        ChildSupport.println(line);
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    private static void awaitGo() throws InterruptedException {
        String line = stdin.take();
        if (!"go".equals(line)) {
            throw new IllegalStateException("expected 'go' on stdin, got '" + line + "'");
        }
    }

    private static void awaitEof() throws InterruptedException {
        while (stdin.take() != EOF) {
            // Lines after the scenario are ignored.
        }
    }

    private static void readStdin() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                stdin.add(line);
            }
        } catch (IOException e) {
            // A broken pipe means the same as end-of-file: the parent is gone.
        }
        if (!stopGracefully) {
            System.err.println("stdin closed before the scenario ended: the parent gave up or died; exiting with 3");
            System.exit(3);
        }
        stdin.add(EOF);
    }
}
