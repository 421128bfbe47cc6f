package dev.baton.bench;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * One client thread's load: it issues calls while the {@link Measurement} runs, records each completion,
 * and returns once its outstanding calls have completed after the stop. Each lane runs on its own thread.
 */
interface Lane {

    /** How long a lane waits, after the stop, for its outstanding calls before it reports them lost. */
    long DRAIN_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    void run(Measurement m) throws Exception;

    /** A blocking call, made in a loop by the lane's thread. */
    @FunctionalInterface
    interface BlockingCall {
        void call() throws Exception;
    }

    /** A lane of blocking calls, one at a time: the sequential workloads. */
    static Lane sequential(BlockingCall call) {
        return m -> {
            while (m.running()) {
                long start = System.nanoTime();
                try {
                    call.call();
                } catch (Exception e) {
                    m.error(e);
                    return;
                }
                m.record(start, System.nanoTime());
            }
        };
    }

    /**
     * A closed loop of {@code depth} asynchronous calls: each completion issues the next call from the thread
     * that completed it (an I/O thread, an event loop, or for an in-process call the caller itself). Issuing
     * goes through a per-thread trampoline, so a call that completes inside its own start does not recurse.
     * Nothing here allocates per call; what the system allocates is what gets measured.
     */
    abstract class Async implements Lane {

        private static final ThreadLocal<Trampoline> TRAMPOLINE = ThreadLocal.withInitial(Trampoline::new);

        private final int depth;
        private final AtomicInteger inFlight = new AtomicInteger();
        private volatile Measurement measurement;

        protected Async(int depth) {
            this.depth = depth;
        }

        /** Starts a call for {@code slot}; it must end with exactly one {@link Slot#done}. May throw instead. */
        protected abstract void start(Slot slot) throws Exception;

        /** A slot: one outstanding call at a time. Systems subclass it to carry their callback objects. */
        protected Slot newSlot() {
            return new Slot(this);
        }

        @Override
        public final void run(Measurement m) throws Exception {
            measurement = m;
            Slot[] slots = new Slot[depth];
            for (int i = 0; i < depth; i++) {
                slots[i] = newSlot();
            }
            for (Slot s : slots) {
                // A call that completes in its own start (in process) keeps this thread in the first issue until
                // the stop: there are no more slots to start then.
                if (!m.running()) {
                    break;
                }
                issue(s);
            }
            while (m.running()) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
            long deadline = System.nanoTime() + DRAIN_TIMEOUT_NS;
            while (inFlight.get() > 0) {
                if (System.nanoTime() - deadline > 0) {
                    throw new TimeoutException(inFlight.get() + " calls still outstanding "
                            + TimeUnit.NANOSECONDS.toSeconds(DRAIN_TIMEOUT_NS) + " s after the stop");
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }

        private static void issue(Slot s) {
            s.lane.inFlight.incrementAndGet();
            Trampoline t = TRAMPOLINE.get();
            if (t.active) {
                t.queue.addLast(s);
                return;
            }
            t.active = true;
            try {
                do {
                    s.lane.startNow(s);
                } while ((s = t.queue.pollFirst()) != null);
            } finally {
                t.active = false;
            }
        }

        private void startNow(Slot s) {
            s.startNs = System.nanoTime();
            try {
                start(s);
            } catch (Throwable e) {
                s.done(e);
            }
        }

        private void completed(Slot s, Throwable error) {
            long end = System.nanoTime();
            Measurement m = measurement;
            if (error != null) {
                m.error(error);
            } else {
                m.record(s.startNs, end);
                if (m.running()) {
                    issue(s);   // counted in flight before this call stops counting: the lane never sees 0 early
                }
            }
            inFlight.decrementAndGet();
        }

        /** One outstanding call of an {@link Async} lane. */
        protected static class Slot {
            final Async lane;
            long startNs;

            protected Slot(Async lane) {
                this.lane = lane;
            }

            /** The call ended: {@code error} null for a response. Any thread, once per call. */
            protected final void done(Throwable error) {
                lane.completed(this, error);
            }
        }

        private static final class Trampoline {
            boolean active;
            final ArrayDeque<Slot> queue = new ArrayDeque<>(256);
        }
    }
}
