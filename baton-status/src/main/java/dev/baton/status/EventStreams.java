package dev.baton.status;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The open server-sent event streams. Each has a small queue of its own: a reader that falls behind loses the
 * oldest documents (each is a whole status, so the next one makes up for them), never the server's memory.
 */
final class EventStreams implements AutoCloseable {

    /** Documents a stream may fall behind by before it loses the oldest. */
    private static final int QUEUE = 4;
    /** What a queue gets when the page closes: the stream's writer ends. */
    private static final String END = new String("end");

    private final int max;
    // ---- guarded by this
    private final List<BlockingQueue<String>> open = new ArrayList<>();
    private boolean closed;

    EventStreams(int max) {
        this.max = max;
    }

    /** A new stream's queue, or null when {@link #max} are open (or the page closed). */
    synchronized BlockingQueue<String> open() {
        if (closed || open.size() >= max) {
            return null;
        }
        BlockingQueue<String> q = new ArrayBlockingQueue<>(QUEUE);
        open.add(q);
        return q;
    }

    synchronized void release(BlockingQueue<String> q) {
        open.remove(q);
    }

    /** Offers {@code doc} to every stream, dropping a slow stream's oldest document to make room. */
    synchronized void publish(String doc) {
        for (BlockingQueue<String> q : open) {
            while (!q.offer(doc)) {
                q.poll();
            }
        }
    }

    /**
     * The next document for {@code q}: null after {@code heartbeatMs} without one (the writer sends a comment to
     * keep the connection alive), {@code END} once the page closes.
     */
    static String next(BlockingQueue<String> q, long heartbeatMs) throws InterruptedException {
        return q.poll(heartbeatMs, TimeUnit.MILLISECONDS);
    }

    static boolean isEnd(String doc) {
        return doc == END;
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (BlockingQueue<String> q : open) {
            q.clear();
            q.offer(END);
        }
        open.clear();
    }
}
