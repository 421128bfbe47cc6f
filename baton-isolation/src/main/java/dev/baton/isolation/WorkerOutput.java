package dev.baton.isolation;

import dev.baton.process.ChildJvm;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

import static dev.baton.isolation.WorkerPool.LOG;

/**
 * The output lines of a pool's workers: {@link ChildJvm} puts each worker's lines on one queue, which the pool's
 * output thread, {@code baton-isolation-<pool>-output}, logs at DEBUG; the end of a worker's output completes its
 * {@link Worker#outputEnded}, for which a crash's classification waits (briefly) so as to see the last lines.
 *
 * <p>Threading: thread-safe. Lines are queued by {@code ChildJvm}'s reader threads and taken by the one output
 * thread; workers are registered by their own threads. Takes no lock of the pool's.
 */
final class WorkerOutput {

    private final BlockingQueue<ChildJvm.Line> lines = new LinkedBlockingQueue<>();
    private final Map<String, Worker> byChildName = new ConcurrentHashMap<>();
    private final Thread thread;

    WorkerOutput(String poolName) {
        this.thread = Thread.ofPlatform().daemon(true).name("baton-isolation-" + poolName + "-output")
                .unstarted(this::drain);
    }

    /** The queue to give a worker's {@link ChildJvm.Builder#lines}. */
    BlockingQueue<ChildJvm.Line> lines() {
        return lines;
    }

    /** Before {@code w}'s process starts: its end of output is to complete {@link Worker#outputEnded}. */
    void register(Worker w) {
        byChildName.put(w.childName, w);
    }

    void start() {
        thread.start();
    }

    /** Stops the output thread (the pool is closed). */
    void stop() {
        thread.interrupt();
    }

    private void drain() {
        try {
            while (true) {
                ChildJvm.Line line = lines.take();
                Worker w = byChildName.get(line.child().name());
                if (line.isEnd()) {
                    if (w != null) {
                        w.outputEnded.complete(null);
                        byChildName.remove(w.childName);
                    }
                } else if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                    LOG.log(System.Logger.Level.DEBUG, "[" + line.child().name() + " " + line.child().pid() + "] "
                            + line.text());
                }
            }
        } catch (InterruptedException e) {
            // close()
        }
    }
}
