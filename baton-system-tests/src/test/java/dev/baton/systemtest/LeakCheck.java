package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The end-of-test check of the multi-process tests: no child process and no thread of ours is left. Call it
 * from an {@code @AfterEach}; it kills whatever it finds, so one leaking test does not spoil the next.
 */
final class LeakCheck {

    /** Threads of the test JVM's nodes ({@code baton-*}) and of {@link ChildJvm} ({@code child-*}). */
    private static final List<String> THREAD_PREFIXES = List.of("baton-", "child-");
    /** Closing returns once threads are told to stop; they get this long to finish. */
    private static final Duration THREAD_END_WAIT = Duration.ofSeconds(5);

    private LeakCheck() {
    }

    /**
     * Fails if a child process of this JVM is still running (after killing it), or if a thread named
     * {@code baton-*}, {@code child-*} or with one of {@code moreThreadPrefixes} is still alive after
     * {@link #THREAD_END_WAIT}.
     */
    static void assertNothingLeftBehind(String... moreThreadPrefixes) {
        List<ProcessHandle> left = ProcessHandle.current().descendants().toList();
        left.forEach(ProcessHandle::destroyForcibly);
        assertEquals(List.of(), left.stream().map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList(),
                "child processes left behind");
        List<String> prefixes = Stream.concat(THREAD_PREFIXES.stream(), Stream.of(moreThreadPrefixes)).toList();
        Wait.until(() -> liveThreads(prefixes).isEmpty(), THREAD_END_WAIT,
                () -> "threads left behind: " + liveThreads(prefixes));
    }

    private static List<String> liveThreads(List<String> prefixes) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> prefixes.stream().anyMatch(n::startsWith)).sorted().toList();
    }
}
