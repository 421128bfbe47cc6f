package dev.baton.accumulator.bench;

import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.accumulator.AccumulatorOptions;
import dev.baton.accumulator.Accumulators;
import dev.baton.accumulator.AverageAccumulator;
import dev.baton.accumulator.DoubleAccumulator;
import dev.baton.accumulator.LongAccumulator;
import dev.baton.accumulator.TimerAccumulator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The write path: one call of {@code write} per operation, on a node whose flusher pushes to an in-process
 * server every {@code flushEvery} writes (1024, prpc's default) or only every second (0).
 *
 * <pre>
 * ./mvnw -q -f baton-accumulator/pom.xml test-compile dependency:build-classpath \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
 * java -cp baton-accumulator/target/test-classes:baton-accumulator/target/classes:$(cat baton-accumulator/target/test-classpath.txt) \
 *     org.openjdk.jmh.Main WriteBenchmark -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "--sun-misc-unsafe-memory-access=allow"})
public class WriteBenchmark {

    @Param({"1024", "0"})
    int flushEvery;

    private Master master;
    private Node node;
    private Accumulators accumulators;
    private LongAccumulator sum;
    private LongAccumulator max;
    private DoubleAccumulator doubleSum;
    private AverageAccumulator average;
    private TimerAccumulator timer;

    /** Per-thread values, so the maximum keeps moving. */
    @State(Scope.Thread)
    public static class Counter {
        long next;
    }

    @Setup(Level.Trial)
    public void setUp() {
        master = Master.start(0);
        node = Node.join(NodeOptions.builder().master(master.address()).build());
        accumulators = Accumulators.attach(node, AccumulatorOptions.builder().flushEvery(flushEvery)
                .flushInterval(Duration.ofSeconds(1)).build());
        sum = accumulators.longSum("sum");
        max = accumulators.longMax("max");
        doubleSum = accumulators.doubleSum("double-sum");
        average = accumulators.average("average");
        timer = accumulators.timer("timer");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        accumulators.close();
        node.close();
        master.close();
    }

    @Benchmark
    public void longSum() {
        sum.write(7);
    }

    @Benchmark
    public void longMax(Counter c) {
        max.write(c.next++);
    }

    @Benchmark
    public void doubleSum() {
        doubleSum.write(0.5);
    }

    @Benchmark
    public void average(Counter c) {
        average.write(c.next++);
    }

    @Benchmark
    public void timer(Counter c) {
        timer.record(c.next++ & 1023);
    }

    /** Two threads on one accumulator: the first keeps the fast path, the second goes through its thread-local. */
    @Benchmark
    @Threads(2)
    public void longSumTwoThreads() {
        sum.write(7);
    }
}
