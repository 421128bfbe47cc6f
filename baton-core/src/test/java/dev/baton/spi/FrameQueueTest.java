package dev.baton.spi;

import dev.baton.BatonException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The intrusive send queue: FIFO per producer, nothing lost or duplicated, frames reusable once taken out. */
@Timeout(60)
class FrameQueueTest {

    /** A frame that says who offered it and in which order. */
    private static final class Tagged extends OutboundFrame {
        final int producer;
        final int sequence;

        Tagged(int producer, int sequence) {
            this.producer = producer;
            this.sequence = sequence;
        }

        @Override
        public void onWritten() {
        }

        @Override
        public void onDropped(BatonException cause) {
        }
    }

    @Test
    void aSingleThreadGetsItsFramesBackInOrderAndTheQueueEmpties() {
        FrameQueue q = new FrameQueue();
        assertTrue(q.isEmpty());
        assertNull(q.poll());
        List<Tagged> frames = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            frames.add(new Tagged(0, i));
            q.offer(frames.get(i));
        }
        for (int i = 0; i < 100; i++) {
            assertSame(frames.get(i), q.poll());
        }
        assertNull(q.poll());
        assertTrue(q.isEmpty());
    }

    @Test
    void aFrameTakenOutCanBeOfferedAgainAtOnce() {
        FrameQueue q = new FrameQueue();
        Tagged a = new Tagged(0, 0);
        Tagged b = new Tagged(0, 1);
        for (int round = 0; round < 1000; round++) {
            q.offer(a);
            q.offer(b);
            assertSame(a, q.poll());
            q.offer(a);             // reused while b is still queued
            assertSame(b, q.poll());
            assertSame(a, q.poll());
            assertNull(q.poll());
        }
    }

    @Test
    void manyProducersOneConsumerLoseNothingAndKeepEachProducersOrder() throws Exception {
        int producers = 4;
        int perProducer = 200_000;
        FrameQueue q = new FrameQueue();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            int id = p;
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < perProducer; i++) {
                    q.offer(new Tagged(id, i));
                }
            });
            threads.add(t);
        }
        int[] next = new int[producers];
        int taken = 0;
        start.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(50);
        while (taken < producers * perProducer) {
            OutboundFrame f = q.poll();
            if (f == null) {
                assertTrue(System.nanoTime() < deadline, "only " + taken + " frames arrived");
                Thread.onSpinWait();
                continue;
            }
            Tagged t = (Tagged) f;
            assertEquals(next[t.producer], t.sequence, "producer " + t.producer + "'s frames in order");
            next[t.producer]++;
            taken++;
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertNull(q.poll());
        for (int p = 0; p < producers; p++) {
            assertEquals(perProducer, next[p]);
        }
    }
}
