package dev.baton.testkit.registry;

import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.Server;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What every area of {@link RegistryConformanceTest} shares: a fresh registry and {@link Members} per test,
 * closed after it, and a check that no Baton thread outlives the test.
 */
@Timeout(60)
abstract class ConformanceBase {

    /**
     * How long something that must happen "eventually" may take: a change reaching every node, a node
     * rejoining a registry that came back. Generous on purpose: a test passes as soon as it happens.
     */
    static final Duration CONVERGE = Duration.ofSeconds(20);
    /** A wait long enough that it only ends when its condition is met. */
    static final Duration LONG = Duration.ofSeconds(20);
    /** How late a timed-out wait (barrier, lock) may return after its timeout. */
    static final Duration TIMEOUT_SLACK = Duration.ofMillis(2_500);
    /** The method of the echo servers the tests start. */
    static final int ECHO = 0;

    private final Supplier<RegistryUnderTest> starter;
    private Set<Thread> threadsBefore;
    RegistryUnderTest fixture;
    Members members;

    ConformanceBase(Supplier<RegistryUnderTest> starter) {
        this.starter = starter;
    }

    @BeforeEach
    final void startRegistry() {
        threadsBefore = Thread.getAllStackTraces().keySet();
        fixture = Objects.requireNonNull(starter.get(), "startRegistry() returned null");
        members = new Members(fixture);
    }

    @AfterEach
    final void closeEverythingAndLeaveNoThreadBehind() {
        try {
            if (members != null) {
                members.close();
            }
        } finally {
            if (fixture != null) {
                fixture.close();
            }
        }
        Await.until("every Baton thread the test started has ended", () -> batonThreadsLeft().isEmpty(),
                Duration.ofSeconds(10), () -> "Left: " + batonThreadsLeft());
    }

    private Set<String> batonThreadsLeft() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("baton-") && !threadsBefore.contains(t))
                .map(Thread::getName)
                .collect(Collectors.toSet());
    }

    // ------------------------------------------------------------------ helpers for the areas

    /** Something that may throw, for {@link #outcome}. */
    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    /** OK when {@code action} returns, else the code of the {@link BatonException} it threw. */
    static Status.Code outcome(Action action) throws Exception {
        try {
            action.run();
            return Status.Code.OK;
        } catch (BatonException e) {
            return e.code();
        }
    }

    /** Asserts that {@code action} throws a {@link BatonException} with {@code code}; returns it. */
    static BatonException assertFails(Status.Code code, Action action) {
        BatonException e = assertThrows(BatonException.class, action::run);
        assertEquals(code, e.code(), "status of " + e);
        return e;
    }

    /**
     * Runs {@code call} on {@code pool} and returns once it waits: its thread is parked with a timeout (a
     * coordination call has sent its request and waits for the answer), or it has ended already.
     */
    static <T> Future<T> startWaiting(ExecutorService pool, String what, Callable<T> call) {
        AtomicReference<Thread> worker = new AtomicReference<>();
        Future<T> f = pool.submit(() -> {
            worker.set(Thread.currentThread());
            return call.call();
        });
        Await.until(what, () -> f.isDone()
                || worker.get() != null && worker.get().getState() == Thread.State.TIMED_WAITING, LONG);
        return f;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A server of {@code service} on {@code node} that echoes each request of method {@link #ECHO}. */
    static Server.Builder echo(Node node, String service) {
        return node.newServer(service).inline(ECHO, call -> call.reply(call.request().buffer()));
    }
}
