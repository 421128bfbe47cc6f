package dev.baton.process;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real child JVMs ({@link TestChild}): output, logs, waits that time out, stopping, killing, cleaning up. */
@Timeout(60)
class ChildJvmTest {

    private static final Duration STARTUP = Duration.ofSeconds(30);
    private static final Duration STEP = Duration.ofSeconds(10);

    private final List<ChildJvm> started = new ArrayList<>();

    @AfterEach
    void nothingIsLeftBehind() {
        started.forEach(ChildJvm::close);
        List<ProcessHandle> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
                "child processes left behind");
        until(() -> liveThreads("child-").isEmpty(), STEP, () -> "threads left: " + liveThreads("child-"));
    }

    private ChildJvm start(ChildJvm.Builder builder) throws IOException {
        ChildJvm c = builder.start();
        started.add(c);
        return c;
    }

    private ChildJvm startReady(String name, String... args) throws Exception {
        ChildJvm c = start(ChildJvm.builder(name, TestChild.class).args(args));
        c.awaitLine("READY"::equals, STARTUP);
        return c;
    }

    @Test
    void startsAJvmOnThisClassPathAndReadsItsOutputLineByLine() throws Exception {
        ChildJvm c = startReady("echo");

        c.writeLine("echo hello, child");

        assertEquals("hello, child", c.awaitLine(l -> l.startsWith("hello"), STEP));
        assertEquals(List.of("READY", "hello, child"), c.output());
        assertTrue(c.isAlive());
        assertEquals(OptionalInt.empty(), c.exitCode());
        c.closeStdin();
        assertEquals(0, c.awaitExit(STEP));
        assertEquals(OptionalInt.of(0), c.exitCode());
    }

    @Test
    void stderrIsMergedIntoTheOutputUnlessItHasAFileOfItsOwn(@TempDir Path dir) throws Exception {
        ChildJvm merged = startReady("merged");
        merged.writeLine("err oops");
        assertEquals("oops", merged.awaitLine("oops"::equals, STEP));

        Path file = dir.resolve("logs/separate.stderr");
        ChildJvm separate = start(ChildJvm.builder("separate", TestChild.class).stderrTo(file));
        separate.awaitLine("READY"::equals, STARTUP);
        separate.writeLine("err oops");
        separate.writeLine("echo after");
        separate.awaitLine("after"::equals, STEP);
        separate.closeStdin();
        separate.awaitExit(STEP);

        assertEquals(List.of("READY", "after"), separate.output());
        assertEquals("oops\n", Files.readString(file));
        assertTrue(separate.describe().contains("separate! oops"), separate::describe);
    }

    @Test
    void everyLineGoesToTheOutputLogAndTheEcho(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("out/logged.log");
        ByteArrayOutputStream echoed = new ByteArrayOutputStream();
        ChildJvm c = start(ChildJvm.builder("logged", TestChild.class).outputLog(log)
                .echoTo(new PrintStream(echoed, true, StandardCharsets.UTF_8)));

        c.writeLine("lines 3");
        c.closeStdin();
        assertEquals(0, c.awaitExit(STARTUP));
        c.close();

        assertEquals("READY\nline 1\nline 2\nline 3\n", Files.readString(log));
        assertTrue(echoed.toString(StandardCharsets.UTF_8).contains("[logged " + c.pid() + "] line 2\n"), echoed::toString);
        assertTrue(c.describe().contains("all of it in " + log.toAbsolutePath()), c::describe);
    }

    @Test
    void keepsOnlyTheLatestLines() throws Exception {
        ChildJvm c = start(ChildJvm.builder("short-memory", TestChild.class).keepLines(2));

        c.writeLine("lines 5");
        c.awaitLine("line 5"::equals, STARTUP);

        assertEquals(List.of("line 4", "line 5"), c.output());
    }

    @Test
    void aLineThatNeverComesTimesOutDescribingTheChild() throws Exception {
        ChildJvm c = startReady("silent");

        ChildJvmException e = assertThrows(ChildJvmException.class,
                () -> c.awaitLine("never"::equals, Duration.ofMillis(300)));

        String m = e.getMessage();
        assertTrue(m.contains("no matching output line within 300 ms") && m.contains("silent (pid " + c.pid() + ")")
                && m.contains("was still running") && m.contains("silent| READY"), m);
    }

    @Test
    void anEndedOutputFailsEveryWaitAtOnceWithTheExitCode() throws Exception {
        ChildJvm c = startReady("quitter");
        c.writeLine("exit 3");

        long startNs = System.nanoTime();
        ChildJvmException first = assertThrows(ChildJvmException.class, () -> c.awaitLine("never"::equals, STARTUP));
        ChildJvmException second = assertThrows(ChildJvmException.class, () -> c.awaitLine("never"::equals, STARTUP));

        assertTrue(System.nanoTime() - startNs < STARTUP.toNanos(), "waited for the timeout");
        assertTrue(first.getMessage().contains("its output ended before a matching line")
                && first.getMessage().contains("exited with code 3"), first::getMessage);
        assertTrue(second.getMessage().contains("exited with code 3"), second::getMessage);
        assertEquals(OptionalInt.of(3), c.exitCode());
    }

    @Test
    void waitingForAnExitThatDoesNotComeTimesOut() throws Exception {
        ChildJvm c = startReady("lingering");

        ChildJvmException e = assertThrows(ChildJvmException.class, () -> c.awaitExit(Duration.ofMillis(200)));

        assertTrue(e.getMessage().contains("did not exit within 200 ms"), e::getMessage);
        assertTrue(c.isAlive());
    }

    @Test
    void killEndsTheChildAndEveryProcessItStarted() throws Exception {
        ChildJvm c = startReady("parent");
        c.writeLine("spawn");
        long grandchild = Long.parseLong(c.awaitLine(l -> l.startsWith("SPAWNED "), STEP).substring(8));
        assertTrue(alive(grandchild));

        assertEquals(137, c.kill());

        assertFalse(c.isAlive());
        assertFalse(alive(grandchild), "the grandchild survived");
    }

    @Test
    void stoppingEscalatesToSigkillForAChildThatIgnoresEndOfInputAndSigterm() throws Exception {
        ChildJvm c = start(ChildJvm.builder("stubborn", TestChild.class).args("stubborn")
                .stopGrace(Duration.ofMillis(200), Duration.ofMillis(300)));
        c.awaitLine("READY"::equals, STARTUP);
        List<String> notes = new CopyOnWriteArrayList<>();

        long startNs = System.nanoTime();
        ChildJvm.stopAll(List.of(c), notes::add);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);

        assertEquals(OptionalInt.of(137), c.exitCode());
        assertEquals(List.of("stubborn (pid " + c.pid() + ") ignored SIGTERM for 300 ms; killing it"), notes);
        assertTrue(tookMs >= 500, "did not wait out both graces: " + tookMs + " ms");
    }

    @Test
    void childrenThatStopAtEndOfInputAreStoppedTogetherWithoutSignals() throws Exception {
        List<ChildJvm> children = List.of(startReady("a"), startReady("b"), startReady("c"));
        List<String> notes = new CopyOnWriteArrayList<>();

        long startNs = System.nanoTime();
        ChildJvm.stopAll(children, notes::add);

        // Each has 5 s after end of input before SIGTERM; they stop together, well before that.
        assertTrue(System.nanoTime() - startNs < TimeUnit.SECONDS.toNanos(4), "stopped one after the other");
        for (ChildJvm c : children) {
            assertEquals(OptionalInt.of(0), c.exitCode(), c.name());
        }
        assertEquals(List.of(), notes);
        assertEquals(0, children.getFirst().stop());
    }

    @Test
    void childrenSharingAQueueAreWaitedOnTogether() throws Exception {
        BlockingQueue<ChildJvm.Line> queue = new LinkedBlockingQueue<>();
        ChildJvm one = start(ChildJvm.builder("one", TestChild.class).lines(queue));
        ChildJvm two = start(ChildJvm.builder("two", TestChild.class).lines(queue));

        assertEquals(Set.of(one, two), Set.of(take(queue).child(), take(queue).child()));
        two.writeLine("echo from two");
        ChildJvm.Line line = take(queue);
        assertEquals(new ChildJvm.Line(two, "from two"), line);
        one.close();
        assertEquals(new ChildJvm.Line(one, null), take(queue));
        assertTrue(new ChildJvm.Line(one, null).isEnd());
        assertThrows(IllegalStateException.class, () -> two.awaitLine(l -> true, STEP));
    }

    @Test
    void closeEndsTheProcessAndItsReaderAndIsIdempotent() throws Exception {
        ChildJvm c = start(ChildJvm.builder("closing", TestChild.class).readerThreadName("child-closing-reader"));
        c.awaitLine("READY"::equals, STARTUP);
        assertEquals(List.of("child-closing-reader"), liveThreads("child-closing-"));

        c.close();
        c.close();

        assertFalse(c.isAlive());
        assertEquals(OptionalInt.of(0), c.exitCode());
        assertEquals(List.of(), liveThreads("child-closing-"));
    }

    @Test
    void aChildThatCannotStartThrowsAndStartsNothing(@TempDir Path dir) {
        ChildJvm.Builder b = ChildJvm.builder("impossible", TestChild.class)
                .commandPrefix(List.of(dir.resolve("no-such-launcher").toString())).outputLog(dir.resolve("x.log"));

        IOException e = assertThrows(IOException.class, b::start);

        assertTrue(e.getMessage().startsWith("cannot start impossible ("), e::getMessage);
        assertEquals(List.of(), liveThreads("child-impossible-"));
    }

    @Test
    void whenAJvmExitsTheChildrenItLeftRunningAreKilled() throws Exception {
        ChildJvm c = startReady("launcher");
        c.writeLine("launch");
        long grandchild = Long.parseLong(c.awaitLine(l -> l.startsWith("LAUNCHED "), STARTUP).substring(9));
        try {
            assertTrue(alive(grandchild));

            c.writeLine("exit 0");

            assertEquals(0, c.awaitExit(STEP));
            until(() -> !alive(grandchild), STEP, () -> "the stubborn grandchild " + grandchild + " still runs");
        } finally {
            ProcessHandle.of(grandchild).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void optionsNameTheBadValue() {
        ChildJvm.Builder b = ChildJvm.builder("x", TestChild.class);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.keepLines(-1)).getMessage().contains("-1"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> b.stopGrace(Duration.ofSeconds(-1), Duration.ZERO)).getMessage().contains("PT-1S"));
        assertThrows(IllegalArgumentException.class, () -> ChildJvm.builder(" ", TestChild.class));
    }

    // ------------------------------------------------------------------ helpers

    private static ChildJvm.Line take(BlockingQueue<ChildJvm.Line> queue) throws InterruptedException {
        ChildJvm.Line line = queue.poll(STARTUP.toSeconds(), TimeUnit.SECONDS);
        if (line == null) {
            throw new AssertionError("no line within " + STARTUP);
        }
        return line;
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static List<String> liveThreads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith(prefix)).sorted().toList();
    }

    /** Waits for {@code condition} with a deadline, in small steps: nothing tells us when a process is gone. */
    private static void until(BooleanSupplier condition, Duration timeout, Supplier<String> state) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("not within " + timeout.toMillis() + " ms: " + state.get());
            }
            LockSupport.parkNanos(10_000_000L);
        }
    }
}
