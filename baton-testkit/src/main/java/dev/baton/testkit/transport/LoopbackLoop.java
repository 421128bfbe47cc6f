package dev.baton.testkit.transport;

import dev.baton.spi.connection.ConnectionLoop;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * One thread of the loopback transport: runs the tasks other threads hand it, the connections that were signalled
 * ready ({@link ReadyQueue}), and every 25 ms the tick of each of its connections (handshake and keepalive
 * timeouts, idle buffers). The loopback counterpart of the TCP transport's selector loop.
 *
 * <p>Idle strategy: after the last piece of work it spins for {@code ioSpin}, then parks until the next tick or
 * until a task or a signal unparks it. A producer queues first and then reads {@link #parked}; the loop sets
 * {@code parked} first and then looks at its queues: one of them always sees the other, and an unpark that comes
 * before the park makes the park return at once.
 *
 * <p>Thread-safe: {@link #execute}, {@link #post} and {@link #ready} from any thread; {@link #add} and
 * {@link #remove} on the loop thread.
 */
final class LoopbackLoop implements ConnectionLoop, Runnable {

    private static final System.Logger LOG = System.getLogger(LoopbackLoop.class.getName());
    /** Keepalive and handshake checks run on this tick, as on the TCP transport's loop. */
    static final long TICK_NS = 25_000_000L;
    /** Ready connections served before the loop looks at its tasks and tick again. */
    private static final int READY_PER_ROUND = 256;
    /** Rounds the loop runs after it was stopped, to report the closes of its connections. */
    private static final int DRAIN_ROUNDS = 1000;

    private final Thread thread;
    private final long ioSpinNs;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ReadyQueue ready = new ReadyQueue();
    private final List<LoopbackConnection> connections = new ArrayList<>();       // loop thread only
    private LoopbackConnection[] ticking = new LoopbackConnection[16];               // loop thread only
    private volatile boolean parked;
    private volatile boolean running = true;

    LoopbackLoop(String name, long ioSpinNs) {
        this.ioSpinNs = ioSpinNs;
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
        tasks.add(task);
        wake();
    }

    @Override
    public void post(Runnable task) {
        tasks.add(task);
        wake();
    }

    /** Queues a connection that was signalled ready. Any thread. */
    void ready(ReadyQueue.Node node) {
        ready.push(node);
        wake();
    }

    private void wake() {
        if (parked) {
            LockSupport.unpark(thread);
        }
    }

    void add(LoopbackConnection c) {
        connections.add(c);
    }

    void remove(LoopbackConnection c) {
        connections.remove(c);
    }

    @Override
    public void run() {
        long idleSince = System.nanoTime();
        long nextTick = idleSince + TICK_NS;
        while (running) {
            try {
                int work = runTasks() + runReady();
                long now = System.nanoTime();
                if (now - nextTick >= 0) {
                    nextTick = now + TICK_NS;
                    tick(now);
                }
                if (work > 0) {
                    idleSince = now;
                    continue;
                }
                if (now - idleSince < ioSpinNs) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                if (running && tasks.isEmpty() && ready.isEmpty()) {
                    LockSupport.parkNanos(this, Math.max(1, nextTick - now));
                }
                parked = false;
                idleSince = System.nanoTime();
            } catch (Throwable t) {
                parked = false;
                LOG.log(System.Logger.Level.ERROR, "loopback loop " + thread.getName() + " caught an unexpected error",
                        t);
            }
        }
        // Report what the transport's close started (each connection's close is a task on its loop).
        for (int i = 0; i < DRAIN_ROUNDS && runTasks() + runReady() > 0; i++) {
            Thread.onSpinWait();
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
                LOG.log(System.Logger.Level.ERROR, "loopback task failed", t);
            }
        }
        return n;
    }

    private int runReady() {
        int n = 0;
        ReadyQueue.Node node;
        while (n < READY_PER_ROUND && (node = ready.poll()) != null) {
            n++;
            node.connection.onReady();
        }
        return n;
    }

    private void tick(long now) {
        // A copy, without allocating: a tick may close a connection, which removes it from the list.
        ticking = connections.toArray(ticking);
        int n = connections.size();
        for (int i = 0; i < n; i++) {
            LoopbackConnection c = ticking[i];
            ticking[i] = null;
            try {
                c.tick(now);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "tick of " + c + " failed", e);
            }
        }
    }

    /** Stops the loop; tasks already queued still run. Waits for the thread up to {@code timeoutMs}. */
    void shutdown(long timeoutMs) {
        running = false;
        LockSupport.unpark(thread);
        if (!inLoop() && thread.getState() != Thread.State.NEW) {
            try {
                thread.join(timeoutMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
