package dev.baton.bench;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The raw NIO floor's busy-poll wait mode ({@code --busy-poll}): reads and writes on a non-blocking channel, retried
 * in a loop, so the thread never sleeps in the kernel and never pays a wake-up. That is what Baton does while its
 * I/O threads and callers spin; measuring the floor the same way keeps the comparison in one wait mode.
 *
 * <p>A non-blocking channel ignores interrupts, so the loops check the thread's interrupt status themselves. A
 * channel closed meanwhile (by another thread) makes the next read or write throw, as in blocking mode.
 */
final class BusyPoll {

    private BusyPoll() {
    }

    /**
     * Spins until the non-blocking channel {@code c} has something to read into {@code dst}, which must have room:
     * the number of bytes read, or -1 at the end of the stream.
     */
    static int read(SocketChannel c, ByteBuffer dst) throws IOException {
        int n;
        while ((n = c.read(dst)) == 0) {
            pause();
        }
        return n;
    }

    /** Writes all of {@code src} to the non-blocking channel {@code c}, spinning while its send buffer is full. */
    static void write(SocketChannel c, ByteBuffer src) throws IOException {
        while (src.hasRemaining()) {
            if (c.write(src) == 0) {
                pause();
            }
        }
    }

    private static void pause() throws InterruptedIOException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("interrupted while busy-polling a socket");
        }
        Thread.onSpinWait();
    }
}
