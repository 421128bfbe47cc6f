package dev.baton.isolation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The numbers docs/isolation.md quotes are the numbers in the code: each phrase is built from its constant. */
@Timeout(10)
class IsolatedDocsTest {

    private static final Path PAGE = Path.of("..", "docs", "isolation.md");

    @Test
    void pollsWaitsAndBackoffsAreQuotedAsTheyAre() throws IOException {
        assertSays("(seen within " + WorkerPool.CANCEL_POLL_MS + " ms)");
        assertSays("the " + WorkerPool.CANCEL_POLL_MS + " ms cancellation poll");
        assertSays("waits (at most " + WorkerPool.EXIT_WAIT.toSeconds() + " s) for the exit code, and at most "
                + WorkerPool.OUTPUT_END_WAIT_MS + " ms for the end");
        assertSays("(" + WorkerPool.FIRST_BACKOFF_MS + " ms doubling to " + WorkerPool.MAX_BACKOFF_MS / 1000 + " s)");
        assertSays("with the worker's last " + WorkerPool.LOG_LINES + " output lines");
    }

    @Test
    void bufferSizesAreQuotedAsTheyAre() throws IOException {
        assertSays("(" + dev.baton.isolation.internal.FrameChannel.SCRATCH / 1024 + " KiB, grown for larger requests)");
        assertSays("(" + (dev.baton.isolation.internal.FrameChannel.SEND_BUFFER >> 20) + " MiB asked, at most");
    }

    private static void assertSays(String phrase) throws IOException {
        String text = Files.readString(PAGE).replaceAll("\\s+", " ");
        assertTrue(text.contains(phrase), "docs/isolation.md should say: " + phrase);
    }
}
