package dev.baton.shm;

import dev.baton.spi.connection.ConnectionLoop;

import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongConsumer;

/**
 * One I/O thread of the shared-memory transport. It polls the inbound ring of each of its connections (a read of
 * one shared position each, no system call), runs the tasks other threads hand it, and every 25 ms ticks its
 * connections (handshake and keepalive timeouts, idle buffers).
 *
 * <p>Idle strategy: after the last piece of work it spins for {@code ioSpin} (not at all while callers poll every
 * one of its connections: they read what arrives, {@link ShmConnection#pollingStarted}), then sleeps in a selector
 * over its connections' Unix sockets until the next tick. Before it sleeps it marks each inbound ring "reader
 * parked" and looks at every ring once more ({@link ShmRing#markReaderParked}); a peer that publishes into a marked
 * ring rings the doorbell, a byte on the socket, which wakes the selector. A peer process that ends closes its
 * socket (the kernel does it, even on SIGKILL), which wakes the selector too: that is how a dead peer is noticed at
 * once.
 * While spinning the loop also looks at its sockets once a millisecond, so a busy loop notices them as well.
 *
 * <p>The spin fits the host ({@link SpinBudget}): on each tick the loop compares the CPU time it got with the time it
 * was awake (working or spinning). A loop that got most of it keeps its spin; one that was kept off its core while it
 * wanted to run (a crowded host: more busy threads than cores) halves its spin, down to none, and doubles it back
 * once it runs freely again, so it stops taking the cores its callers need.
 *
 * <p>Thread-safe: {@link #execute}, {@link #post} and {@link #wake} from any thread; the rest on the loop thread.
 */
final class ShmLoop implements ConnectionLoop, Runnable {

    private static final System.Logger LOG = System.getLogger(ShmLoop.class.getName());
    static final long TICK_NS = 25_000_000L;
    private static final long SOCKET_CHECK_NS = 1_000_000L;
    private static final int DRAIN_ROUNDS = 1000;
    /**
     * A spinning loop reads the clock once in this many idle turns (a power of two): a read costs about as much as
     * the rest of a turn here, and a turn that finds work sooner answers sooner. Work always reads it.
     */
    private static final int CLOCK_TURNS = 8;

    /** What a selected key's attachment does. */
    interface Ready {
        void onReady(SelectionKey key) throws IOException;

        void onFailure(Throwable t);
    }

    private final Thread thread;
    private final Selector selector;
    private final SpinBudget spin;
    private final LongConsumer onTick;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    /**
     * The loop's connections (loop thread only). Replaced, never changed, when one comes or goes: serving a
     * connection may close it, which removes it while the loop walks the array it read, and walking costs no copy.
     */
    private ShmConnection[] connections = new ShmConnection[0];
    private volatile boolean parked;
    private volatile boolean running = true;

    /**
     * @param onTick runs on every tick, after the connections' (the transport's sweep of what dead peers left)
     */
    ShmLoop(String name, long ioSpinNs, LongConsumer onTick) throws IOException {
        this.spin = new SpinBudget(ioSpinNs);
        this.onTick = onTick;
        this.selector = Selector.open();
        this.thread = Thread.ofPlatform().name(name).daemon(true).unstarted(this);
    }

    void start() {
        thread.start();
    }

    @Override
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void execute(Runnable task) {
        if (inLoop()) {
            task.run();
            return;
        }
        post(task);
    }

    @Override
    public void post(Runnable task) {
        tasks.add(task);
        wake();
    }

    /** Wakes the loop if it sleeps (a connection wants to write, say). Any thread. */
    void wake() {
        if (parked) {
            selector.wakeup();
        }
    }

    /** Registers {@code channel} for {@code ops} with {@code ready} as what handles it. The loop thread. */
    SelectionKey register(SelectableChannel channel, int ops, Ready ready) throws ClosedChannelException {
        return channel.register(selector, ops, ready);
    }

    void add(ShmConnection c) {
        ShmConnection[] now = Arrays.copyOf(connections, connections.length + 1);
        now[now.length - 1] = c;
        connections = now;
    }

    void remove(ShmConnection c) {
        List<ShmConnection> now = new ArrayList<>(Arrays.asList(connections));
        if (now.remove(c)) {
            connections = now.toArray(new ShmConnection[0]);
        }
    }

    @Override
    public void run() {
        long now = System.nanoTime();
        long idleSince = now;
        long nextTick = now + TICK_NS;
        long nextSocketCheck = now;
        int idleTurns = 0;
        while (running) {
            try {
                int work = runTasks() + pollRings();
                if (work > 0 || (++idleTurns & (CLOCK_TURNS - 1)) == 0) {
                    now = System.nanoTime();
                }
                if (now - nextSocketCheck >= 0) {
                    nextSocketCheck = now + SOCKET_CHECK_NS;
                    if (selector.selectNow() > 0) {
                        work += handleSelected();
                    }
                }
                if (now - nextTick >= 0) {
                    nextTick = now + TICK_NS;
                    tick(now);
                    spin.adjust(now);
                }
                if (work > 0) {
                    idleSince = now;
                    continue;
                }
                if (now - idleSince < spin.nanos() && !allPolled()) {
                    Thread.onSpinWait();
                    continue;
                }
                sleep(Math.max(1, (nextTick - now) / 1_000_000L));
                // Spin again only after real work (a doorbell, a task): a tick's wake-up goes back to sleep.
                long woke = System.nanoTime();
                spin.slept(woke - now);
                idleSince = handleSelected() > 0 || !tasks.isEmpty() ? woke : woke - spin.nanos();
                now = woke;
            } catch (Throwable t) {
                parked = false;
                LOG.log(System.Logger.Level.ERROR, "shared-memory loop " + thread.getName()
                        + " caught an unexpected error", t);
            }
        }
        // Report what the transport's close started (each connection's close is a task on its loop).
        for (int i = 0; i < DRAIN_ROUNDS && runTasks() > 0; i++) {
            Thread.onSpinWait();
        }
        try {
            selector.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the selector", e);
        }
    }

    /** True when a caller polls every connection of this loop: they read what arrives, the loop need not spin. */
    private boolean allPolled() {
        ShmConnection[] cs = connections;
        for (ShmConnection c : cs) {
            if (!c.polled()) {
                return false;
            }
        }
        return cs.length > 0;
    }

    /** True while the loop sleeps or is about to (any thread). */
    boolean isParked() {
        return parked;
    }

    /**
     * Marks every inbound ring no caller polls, looks once more, and sleeps in the selector unless something is
     * ready. The flag goes up before the marks ({@link ShmConnection#pollingStopped} relies on it).
     */
    private void sleep(long timeoutMs) throws IOException {
        ShmConnection[] cs = connections;
        parked = true;
        VarHandle.fullFence();
        for (ShmConnection c : cs) {
            c.parking();
        }
        try {
            boolean ready = !tasks.isEmpty();
            for (int i = 0; i < cs.length && !ready; i++) {
                ready = cs[i].hasWork();
            }
            if (!ready && running) {
                selector.select(timeoutMs);
            }
        } finally {
            parked = false;
            for (ShmConnection c : cs) {
                c.awake();
            }
        }
    }

    private int handleSelected() {
        int n = 0;
        var keys = selector.selectedKeys();
        if (keys.isEmpty()) {
            return 0;
        }
        for (var it = keys.iterator(); it.hasNext(); ) {
            SelectionKey key = it.next();
            it.remove();
            n++;
            Ready ready = (Ready) key.attachment();
            try {
                if (key.isValid()) {
                    ready.onReady(key);
                }
            } catch (Throwable t) {
                ready.onFailure(t);
            }
        }
        return n;
    }

    private int pollRings() {
        int work = 0;
        for (ShmConnection c : connections) {
            work += c.service();
        }
        return work;
    }

    private int runTasks() {
        int n = 0;
        Runnable task;
        while ((task = tasks.poll()) != null) {
            n++;
            try {
                task.run();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "shared-memory loop task failed", t);
            }
        }
        return n;
    }

    private void tick(long now) {
        for (ShmConnection c : connections) {
            try {
                c.tick(now);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "tick of " + c + " failed", e);
            }
        }
        onTick.accept(now);
    }

    /** Stops the loop; tasks already queued still run. Waits for the thread up to {@code timeoutMs}. */
    void shutdown(long timeoutMs) {
        running = false;
        selector.wakeup();
        if (!inLoop() && thread.getState() != Thread.State.NEW) {
            try {
                thread.join(timeoutMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
