package dev.baton.accumulator;

import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.zookeeper.ZooKeeperRegistry;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.BitSet;
import java.util.Map;

/**
 * Child process: one rank. Joins the master given as the first argument, attaches accumulators (placement
 * from the second argument, flush every 10 writes), prints {@code READY <rank>}, then runs the commands
 * the test writes on stdin, one per line, answering each with {@code DONE <command>} or
 * {@code FAILED <command>: <error>}:
 * <ul>
 *   <li>{@code WRITE <phase> <k>}: {@link Scenario#write}.</li>
 *   <li>{@code READ <k>}: {@link Scenario#read}, one {@code VALUE <name> <rendered>} line per value.</li>
 *   <li>{@code SERVER}: {@code SERVER <rank>}, where this rank sees the accumulator server.</li>
 *   <li>{@code MISMATCH-FIRST}, {@code MISMATCH-SECOND}: writes "typed" as a long-sum, or as a double-max,
 *       and flushes; a rejection prints {@code REJECTED <code> <message>}.</li>
 *   <li>{@code KILL-WRITE <part>}, {@code KILL-READ}, {@code STREAM <n>}, {@code READ-STREAM}: the
 *       server-failure scenarios of {@link MultiProcessTest}.</li>
 * </ul>
 * Ends when stdin reaches end-of-file.
 */
public final class RankMain {

    private RankMain() {
    }

    /** The prefix of a ZooKeeper registry given as {@code zk:CONNECT/ROOT} instead of a master's address. */
    static final String ZOOKEEPER = "zk:";

    /** Joins the master at {@code where}, or with {@code zk:CONNECT/ROOT} a ZooKeeper server (sessions of 2 s). */
    private static NodeOptions.Builder joinOptions(String where) {
        if (!where.startsWith(ZOOKEEPER)) {
            return NodeOptions.builder().master(where);
        }
        String rest = where.substring(ZOOKEEPER.length());
        int slash = rest.indexOf('/');
        return NodeOptions.builder().registry(ZooKeeperRegistry.builder(rest.substring(0, slash), rest.substring(slash))
                .sessionTimeout(Duration.ofSeconds(2)).build());
    }

    public static void main(String[] args) throws IOException {
        Scenario.registerTypes();
        AccumulatorOptions options = AccumulatorOptions.builder()
                .flushEvery(10)
                .serverPlacement(ServerPlacement.valueOf(args[1]))
                .electionDelay(Duration.ofMillis(20))
                .build();
        Node node = Node.join(joinOptions(args[0]).name("rank").defaultTimeout(Duration.ofSeconds(30)).build());
        Accumulators acc = Accumulators.attach(node, options);
        println("READY " + node.rank());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            try {
                run(acc, node.rank(), line.trim().split(" "));
                println("DONE " + line);
            } catch (Throwable t) {
                t.printStackTrace();
                println("FAILED " + line + ": " + t);
            }
        }
        acc.close();
        node.close();
        System.exit(0);
    }

    private static void run(Accumulators acc, int rank, String[] cmd) throws InterruptedException {
        switch (cmd[0]) {
            case "WRITE" -> Scenario.write(acc, cmd[1], rank, Integer.parseInt(cmd[2]));
            case "READ" -> {
                for (Map.Entry<String, String> e : Scenario.read(acc, Integer.parseInt(cmd[1])).entrySet()) {
                    println("VALUE " + e.getKey() + " " + e.getValue());
                }
            }
            case "SERVER" -> println("SERVER " + acc.serverRank());
            case "MISMATCH-FIRST" -> {
                acc.longSum("typed").write(5);
                acc.awaitFlushed(Scenario.FLUSH_TIMEOUT);
            }
            case "MISMATCH-SECOND" -> {
                acc.doubleMax("typed").write(1.0);
                try {
                    acc.awaitFlushed(Scenario.FLUSH_TIMEOUT);
                    println("ACCEPTED");
                } catch (BatonException e) {
                    println("REJECTED " + e.code() + " " + e.status().description());
                }
            }
            case "KILL-WRITE" -> {
                int part = Integer.parseInt(cmd[1]);
                LongAccumulator sum = acc.longSum("k-sum");
                for (int i = 0; i < 100; i++) {
                    sum.write(rank + 1);
                }
                acc.doubleMax("k-max").write(rank * 10 + part);
                acc.<BitSet, Integer>custom("k-ranks", Scenario.RankSet.NAME).write(rank);
                acc.timer("k-timer").record(rank * 10L + part);
                acc.awaitFlushed(Scenario.FLUSH_TIMEOUT);
            }
            case "STREAM" -> {
                // Writes 1 to "k-stream" n times, with pauses, announcing STREAMING after the first 1000.
                int n = Integer.parseInt(cmd[1]);
                LongAccumulator s = acc.longSum("k-stream");
                for (int w = 1; w <= n; w++) {
                    s.write(1);
                    if (w == 1000) {
                        println("STREAMING");
                    }
                    if (w % 500 == 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                    }
                }
                acc.awaitFlushed(Scenario.FLUSH_TIMEOUT);
            }
            case "READ-STREAM" -> println("VALUE k-stream " + acc.longSum("k-stream").read());
            case "KILL-READ" -> {
                for (String name : new String[]{"k-sum", "k-max", "k-ranks", "k-timer"}) {
                    println("VALUE " + name + " " + acc.read(name).map(RankMain::killRender).orElse("none"));
                }
            }
            default -> throw new IllegalArgumentException("unknown command " + String.join(" ", cmd));
        }
    }

    static String killRender(AccumulatorValue v) {
        return switch (v) {
            case AccumulatorValue.Timer t -> "timer " + t.count() + " " + t.min() + " " + t.max() + " n="
                    + t.histogram().count();
            default -> Scenario.render(v);
        };
    }

    static void println(String line) {
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }
}
