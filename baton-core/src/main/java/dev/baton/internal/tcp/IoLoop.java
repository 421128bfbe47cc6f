package dev.baton.internal.tcp;

import dev.baton.spi.connection.ConnectionLoop;

import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One I/O thread: a selector over its connections, plus a task queue for work other threads hand it
 * (registering a channel, finishing a partial write, closing).
 *
 * <p>Idle strategy: after the last piece of work the loop keeps polling with {@code selectNow()} for
 * {@code ioSpinNs} before it blocks in {@code select()}, so a response that arrives within the spin window
 * is read without a cross-core wake-up (20-40 µs on a 2-vCPU VM). Only work starts a spin: waking for the 25 ms
 * tick does not.
 */
final class IoLoop implements Runnable, ConnectionLoop {

    private static final System.Logger LOG = System.getLogger(IoLoop.class.getName());
    // Keepalive and handshake checks run on this tick; 25 ms keeps a 300 ms lease renewed with margin.
    private static final long TICK_NS = 25_000_000L;

    interface Handler {
        /** The key is ready for its interest ops. */
        void onReady(SelectionKey key) throws IOException;

        /** Periodic check on the I/O thread (handshake and keepalive timeouts, idle buffers). */
        default void tick(long nowNanos) {
        }

        /** An unexpected exception escaped {@link #onReady}. */
        void onFailure(Throwable t);
    }

    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final List<Handler> tickHandlers = new ArrayList<>();
    private final Consumer<SelectionKey> keyAction = this::onKey;
    // Loop thread only: connections whose writes wait for the end of the current round (see deferFlush).
    private boolean dispatching;
    private Runnable[] deferred = new Runnable[16];
    private int deferredCount;
    private final long ioSpinNs;
    private volatile boolean selecting;
    private volatile boolean running = true;
    private long nextTickNanos;

    IoLoop(String name, long ioSpinNs) throws IOException {
        this.selector = Selector.open();
        this.ioSpinNs = ioSpinNs;
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this);
    }

    void start() {
        thread.start();
    }

    Selector selector() {
        return selector;
    }

    @Override
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on this loop's thread: at once when called from it, else soon. */
    @Override
    public void execute(Runnable task) {
        if (inLoop()) {
            task.run();
            return;
        }
        tasks.add(task);
        if (selecting && wakeupPending.compareAndSet(false, true)) {
            selector.wakeup();
        }
    }

    /** Runs {@code task} on this loop's thread later, never inline (even when called from the loop). */
    @Override
    public void post(Runnable task) {
        tasks.add(task);
        if (!inLoop() && selecting && wakeupPending.compareAndSet(false, true)) {
            selector.wakeup();
        }
    }

    /** Calls {@code handler.tick} about every 25 ms. Loop thread only. */
    void addTickHandler(Handler handler) {
        tickHandlers.add(handler);
    }

    void removeTickHandler(Handler handler) {
        tickHandlers.remove(handler);
    }

    @Override
    public void run() {
        long idleSince = System.nanoTime();
        nextTickNanos = idleSince + TICK_NS;
        while (running) {
            try {
                int work = runTasks();
                if (ioSpinNs > 0) {
                    work += selectRound(0);
                }   // else the blocking select below returns at once for a ready key: one system call, not two
                long now = System.nanoTime();
                if (now - nextTickNanos >= 0) {
                    tick(now);
                }
                if (work > 0 && ioSpinNs > 0) {
                    idleSince = now;
                    continue;
                }
                if (now - idleSince < ioSpinNs) {
                    Thread.onSpinWait();
                    continue;
                }
                selecting = true;
                int ready = 0;
                if (tasks.isEmpty()) {
                    ready = selectRound(TICK_NS / 1_000_000L);
                }
                selecting = false;
                wakeupPending.set(false);
                // Spin again only after real work (a ready socket, a task): a tick's time-out goes back to sleep, or
                // with a long ioSpin an idle loop would wake on every tick and spin through it.
                long woke = System.nanoTime();
                idleSince = ready > 0 || !tasks.isEmpty() ? woke : woke - ioSpinNs;
            } catch (Throwable t) {
                selecting = false;
                LOG.log(System.Logger.Level.ERROR, "I/O loop " + thread.getName() + " caught an unexpected error", t);
            }
        }
        runTasks();
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing selector", e);
        }
    }

    private void tick(long now) {
        nextTickNanos = now + TICK_NS;
        for (Handler h : List.copyOf(tickHandlers)) {
            try {
                h.tick(now);
            } catch (RuntimeException e) {
                h.onFailure(e);
            }
        }
    }

    private int runTasks() {
        int n = 0;
        Runnable task;
        while ((task = tasks.poll()) != null) {
            n++;
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "I/O task failed", t);
            }
        }
        return n;
    }

    /**
     * One selector round: dispatches the ready keys (waiting up to {@code timeoutMs} for some, or not at all
     * for 0), then writes the connections deferred meanwhile. Returns how many keys were ready.
     */
    private int selectRound(long timeoutMs) throws IOException {
        dispatching = true;
        try {
            return timeoutMs == 0 ? selector.selectNow(keyAction) : selector.select(keyAction, timeoutMs);
        } finally {
            flushDeferred();
        }
    }

    /**
     * Called on this loop's thread by a connection of this loop whose writer role the thread just took. While
     * the loop dispatches the frames of a round (answers and follow-up calls made by inline handlers and
     * listeners), the connection's write waits for the end of the round: a round that reads 64 responses from
     * one connection and issues 64 calls spread over others writes each of those once, not once per call.
     * Returns false outside a round: the caller writes at once.
     */
    @Override
    public boolean deferFlush(Runnable c) {
        if (!dispatching) {
            return false;
        }
        if (deferredCount == deferred.length) {
            deferred = java.util.Arrays.copyOf(deferred, deferredCount * 2);
        }
        deferred[deferredCount++] = c;
        return true;
    }

    private void flushDeferred() {
        dispatching = false;        // writes made while flushing (a one-way call's follow-up) go out at once
        for (int i = 0; i < deferredCount; i++) {
            Runnable flush = deferred[i];
            deferred[i] = null;
            try {
                flush.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "deferred flush failed", t);
            }
        }
        deferredCount = 0;
    }

    /** One ready key. Selection with an action uses no selected-key set, so there is no iterator per round. */
    private void onKey(SelectionKey key) {
        Handler h = (Handler) key.attachment();
        try {
            if (key.isValid()) {
                h.onReady(key);
            }
        } catch (CancelledKeyException e) {
            // closed concurrently; the owner already handled it
        } catch (Throwable t) {
            h.onFailure(t);
        }
    }

    /** Stops the loop; tasks already queued still run. Waits for the thread up to {@code timeoutMs}. */
    void shutdown(long timeoutMs) {
        running = false;
        if (thread.getState() == Thread.State.NEW) {
            try {
                selector.close();   // never started: nobody else will close it
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing selector", e);
            }
            return;
        }
        selector.wakeup();
        if (!inLoop()) {
            try {
                thread.join(timeoutMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
