package dev.baton.testkit.behaviour;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.ResponseListener;
import dev.baton.Server;
import dev.baton.Status;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The allocation-free call API ({@link ResponseListener}) and the reuse of call records and messages behind
 * it, over the transport under test: every outcome reaches the right caller, once, however calls of every style
 * interleave.
 */
@Timeout(120)
public abstract class ListenerCallTest extends BehaviourTest {

    static final int ECHO = 0;
    static final int SLOW_ECHO = 1;

    /** Echoes with {@code reply(Message)}; method 1 echoes after 0-2 ms on the handler executor. */
    static Server startEcho(Node node) {
        return node.newServer("echo")
                .inline(ECHO, call -> call.reply(call.request()))
                .blocking(SLOW_ECHO, call -> {
                    LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(2_000_000L));
                    call.reply(call.request());
                })
                .start();
    }

    @Test
    public void theListenerBorrowsTheResponseRemotelyAndInProcess() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0));
            Client remote = c.node(1).client("echo");
            Client local = c.node(0).client("echo");
            remote.awaitServers(1, Duration.ofSeconds(5));
            for (Client client : List.of(remote, local)) {
                ByteBuffer request = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN);
                request.putLong(0, 0x0102030405060708L).putLong(8, -42L);
                Recorder r = new Recorder();
                client.call(ECHO, request, r);
                r.await();
                assertEquals(List.of(0x0102030405060708L, -42L), r.values(), client + ": " + r.error.get());
            }
        }
    }

    @Test
    public void errorsKnownBeforeSendingReachTheListenerBeforeTheCallReturns() throws Exception {
        try (Cluster c = cluster(1)) {
            Recorder r = new Recorder();
            c.node(0).client("nobody").call(ECHO, ByteBuffer.allocate(4), r);
            assertEquals(0, r.done.getCount(), "the listener ran inside call()");
            assertEquals(Status.Code.NO_SUCH_SERVICE, r.error.get().code());
            assertEquals(Thread.currentThread().getName(), r.thread.get());
        }
    }

    @Test
    public void aDeadlineReachesTheListenerOnTheHandlerExecutorNotTheTimer() throws Exception {
        try (Cluster c = cluster(2)) {
            CountDownLatch arrived = new CountDownLatch(1);
            c.node(0).newServer("silent").inline(0, call -> arrived.countDown()).start();   // never answers
            Client client = c.node(1).client("silent").withOptions(CallOptions.DEFAULT.withTimeout(Duration.ofMillis(200)));
            client.awaitServers(1, Duration.ofSeconds(5));
            Recorder r = new Recorder();
            long start = System.nanoTime();
            client.call(0, ByteBuffer.allocate(1), r);
            r.await();
            assertTrue(arrived.await(5, TimeUnit.SECONDS));
            assertEquals(Status.Code.DEADLINE_EXCEEDED, r.error.get().code());
            assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(190), "not before the deadline");
            assertFalse(r.thread.get().startsWith("baton-timer"), "listener ran on " + r.thread.get());
        }
    }

    @Test
    public void closingALentResponseDoesNotFreeIt() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0));
            Client client = c.node(1).client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            AtomicReference<byte[]> seen = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            client.call(ECHO, ByteBuffer.wrap("lent".getBytes()), new ResponseListener() {
                @Override
                public void onResponse(Message response) {
                    response.close();
                    seen.set(response.toByteArray());       // still readable: the close did nothing
                    done.countDown();
                }

                @Override
                public void onFailure(BatonException error) {
                    done.countDown();
                }
            });
            assertTrue(done.await(10, TimeUnit.SECONDS));
            assertEquals("lent", new String(seen.get()));
        }
    }

    @Test
    public void aThrowingListenerDoesNotBreakTheConnection() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0));
            Client client = c.node(1).client("echo");
            client.awaitServers(1, Duration.ofSeconds(5));
            CountDownLatch ran = new CountDownLatch(1);
            client.call(ECHO, ByteBuffer.allocate(8), new ResponseListener() {
                @Override
                public void onResponse(Message response) {
                    ran.countDown();
                    throw new IllegalStateException("listener bug");
                }

                @Override
                public void onFailure(BatonException error) {
                }
            });
            assertTrue(ran.await(10, TimeUnit.SECONDS));
            assertEquals("still", new String(client.call(ECHO, "still".getBytes())));
        }
    }

    /**
     * Four threads mix every way to call (listener, future, blocking, one-way; fast inline and slow executor
     * handlers; deadlines that expire while the handler still runs), each request carrying its own sequence
     * number. Recycled call records and messages must never hand one call's response to another, and every
     * call must end exactly once.
     */
    @Test
    public void recycledCallsNeverCrossWires() throws Exception {
        try (Cluster c = cluster(2)) {
            startEcho(c.node(0));
            Client remote = c.node(1).client("echo");
            Client local = c.node(0).client("echo");
            remote.awaitServers(1, Duration.ofSeconds(5));
            local.awaitServers(1, Duration.ofSeconds(5));      // node 0 learns of its own server by an event too
            CallOptions tight = CallOptions.DEFAULT.withTimeout(Duration.ofMillis(1));
            AtomicInteger sequence = new AtomicInteger();
            LongAdder ok = new LongAdder();
            LongAdder deadlines = new LongAdder();
            LongAdder started = new LongAdder();
            LongAdder ended = new LongAdder();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            int threads = 4;
            int callsPerThread = 4_000;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> running = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    running.add(pool.submit(() -> {
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        List<CompletableFuture<Void>> outstanding = new ArrayList<>();
                        for (int i = 0; i < callsPerThread; i++) {
                            int seq = sequence.incrementAndGet();
                            ByteBuffer request = ByteBuffer.allocate(8 + random.nextInt(64)).order(ByteOrder.LITTLE_ENDIAN);
                            request.putLong(0, seq);
                            Client client = random.nextBoolean() ? remote : local;
                            boolean slow = random.nextInt(8) == 0;
                            int method = slow ? SLOW_ECHO : ECHO;
                            CallOptions options = slow && random.nextBoolean() ? tight : CallOptions.DEFAULT;
                            started.increment();
                            switch (random.nextInt(4)) {
                                case 0 -> {
                                    CompletableFuture<Void> done = new CompletableFuture<>();
                                    client.call(method, request, options, new ResponseListener() {
                                        @Override
                                        public void onResponse(Message m) {
                                            check(seq, m.getLong(0), wrong);
                                            ok.increment();
                                            ended.increment();
                                            done.complete(null);
                                        }

                                        @Override
                                        public void onFailure(BatonException e) {
                                            count(e, deadlines, wrong);
                                            ended.increment();
                                            done.complete(null);
                                        }
                                    });
                                    outstanding.add(done);
                                }
                                case 1 -> outstanding.add(client.callAsync(method, request, options).handle((m, e) -> {
                                    if (m != null) {
                                        try (m) {
                                            check(seq, m.getLong(0), wrong);
                                        }
                                        ok.increment();
                                    } else {
                                        count(e.getCause() instanceof BatonException b ? b : (BatonException) e,
                                                deadlines, wrong);
                                    }
                                    ended.increment();
                                    return null;
                                }));
                                case 2 -> {
                                    try (Message m = client.call(method, request, options)) {
                                        check(seq, m.getLong(0), wrong);
                                        ok.increment();
                                    } catch (BatonException e) {
                                        count(e, deadlines, wrong);
                                    }
                                    ended.increment();
                                }
                                default -> {
                                    client.oneWay(ECHO, request, CallOptions.DEFAULT);
                                    ended.increment();
                                }
                            }
                            if (outstanding.size() >= 32) {
                                CompletableFuture.allOf(outstanding.toArray(CompletableFuture[]::new)).join();
                                outstanding.clear();
                            }
                        }
                        CompletableFuture.allOf(outstanding.toArray(CompletableFuture[]::new)).join();
                        return null;
                    }));
                }
                for (Future<?> f : running) {
                    f.get(90, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(List.of(), List.copyOf(wrong));
            assertEquals(started.sum(), ended.sum(), "every call ended exactly once");
            assertTrue(ok.sum() > threads * callsPerThread / 2, "most calls succeed: " + ok.sum());
            assertTrue(deadlines.sum() > 0, "some deadlines expired while handlers ran");
        }
    }

    /**
     * A closed loop run by listeners on the client's I/O thread, spread over two server nodes: each response
     * issues the next call, to either server, from inside the loop round that read it. Those writes wait for
     * the end of the round (deferred flushes) or go out mid-batch; none may be stranded, or the loop would stall.
     */
    @Test
    public void listenersThatCallBothServersFromTheIoThreadNeverStrandAWrite() throws Exception {
        try (Cluster c = cluster(3)) {
            startEcho(c.node(0));
            startEcho(c.node(1));
            Client client = c.node(2).client("echo");
            client.awaitServers(2, Duration.ofSeconds(5));
            int window = 64;
            int total = 50_000;
            AtomicInteger issued = new AtomicInteger();
            AtomicInteger answered = new AtomicInteger();
            AtomicReference<BatonException> failure = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            ByteBuffer request = ByteBuffer.allocateDirect(16);
            ResponseListener loop = new ResponseListener() {
                @Override
                public void onResponse(Message response) {
                    next();
                }

                @Override
                public void onFailure(BatonException error) {
                    failure.compareAndSet(null, error);
                    next();
                }

                private void next() {
                    if (answered.incrementAndGet() == total) {
                        done.countDown();
                    } else if (issued.incrementAndGet() <= total) {
                        client.call(ECHO, request, this);
                    }
                }
            };
            for (int i = 0; i < window; i++) {
                issued.incrementAndGet();
                client.call(ECHO, request, loop);
            }
            assertTrue(done.await(60, TimeUnit.SECONDS), "stalled at " + answered.get() + " of " + total);
            assertEquals(null, failure.get());
            assertTrue(c.node(0).stats().requestsHandled() > 0 && c.node(1).stats().requestsHandled() > 0,
                    "both servers served");
        }
    }

    private static void check(int seq, long echoed, ConcurrentLinkedQueue<String> wrong) {
        if (echoed != seq) {
            wrong.add("call " + seq + " got the response of call " + echoed);
        }
    }

    private static void count(BatonException e, LongAdder deadlines, ConcurrentLinkedQueue<String> wrong) {
        if (e.code() == Status.Code.DEADLINE_EXCEEDED) {
            deadlines.increment();
        } else {
            wrong.add(e.toString());
        }
    }

    /** Records one outcome and the thread it arrived on. */
    private static final class Recorder implements ResponseListener {
        final CountDownLatch done = new CountDownLatch(1);
        final AtomicReference<BatonException> error = new AtomicReference<>();
        final AtomicReference<String> thread = new AtomicReference<>();
        private final List<Long> values = new ArrayList<>();

        @Override
        public void onResponse(Message response) {
            for (int i = 0; i + 8 <= response.size(); i += 8) {
                values.add(response.getLong(i));
            }
            thread.set(Thread.currentThread().getName());
            done.countDown();
        }

        @Override
        public void onFailure(BatonException e) {
            error.set(e);
            thread.set(Thread.currentThread().getName());
            done.countDown();
        }

        void await() throws InterruptedException {
            assertTrue(done.await(10, TimeUnit.SECONDS), "no outcome within 10 s");
            assertNotNull(thread.get());
        }

        synchronized List<Long> values() {
            return List.copyOf(values);
        }
    }
}
