package dev.baton.bench;

import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The Aeron IPC ping, in the harness: an Aeron client of the media driver that runs in the server JVM
 * ({@link AeronEcho}). Each lane has its own exclusive request publication (to server {@code lane % servers})
 * and its own response subscription, and one thread: it offers, then polls, waiting with the run's idle strategy
 * (busy spin with {@code --busy-poll}, Aeron's backoff otherwise). Responses come back in order, so a lane with
 * several outstanding matches them by count, as the raw NIO floor does.
 */
final class AeronTarget implements Target {

    private static final long CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(10);

    private final Aeron aeron;
    private final Workload workload;
    private final boolean busyPoll;
    private final List<AutoCloseable> lanes = new ArrayList<>();

    private AeronTarget(Aeron aeron, Workload workload, boolean busyPoll) {
        this.aeron = aeron;
        this.workload = workload;
        this.busyPoll = busyPoll;
    }

    static AeronTarget open(Workload w, boolean busyPoll) {
        String dir = AeronIpc.directory(ProcessHandle.current().pid()).toString();
        return new AeronTarget(Aeron.connect(new Aeron.Context().aeronDirectoryName(dir)), w, busyPoll);
    }

    @Override
    public Lane lane(int index) throws TimeoutException {
        if (index >= AeronIpc.MAX_LANES) {
            throw new IllegalArgumentException("at most " + AeronIpc.MAX_LANES + " lanes");
        }
        ExclusivePublication pub = aeron.addExclusivePublication(AeronIpc.CHANNEL,
                AeronIpc.REQUEST_STREAM + index % workload.servers);
        Subscription sub = aeron.addSubscription(AeronIpc.CHANNEL, AeronIpc.RESPONSE_STREAM + index);
        synchronized (lanes) {
            lanes.add(pub);
            lanes.add(sub);
        }
        long deadline = System.nanoTime() + CONNECT_TIMEOUT_NS;
        while (!pub.isConnected() || !sub.isConnected()) {
            if (System.nanoTime() - deadline > 0) {
                throw new TimeoutException("the Aeron pong did not connect to lane " + index);
            }
            Thread.onSpinWait();
        }
        return new IpcLane(index, pub, sub, workload, AeronIpc.idleStrategy(busyPoll));
    }

    /** One client thread: keeps {@code depth} messages outstanding (1 for the sequential workloads). */
    private static final class IpcLane implements Lane {
        private final ExclusivePublication pub;
        private final Subscription sub;
        private final IdleStrategy idle;
        private final int length;
        private final int depth;
        private final UnsafeBuffer request;
        private final long[] sentAt;
        private final FragmentAssembler assembler = new FragmentAssembler(this::onResponse);
        private long sent;
        private long completed;
        private Measurement measurement;

        IpcLane(int index, ExclusivePublication pub, Subscription sub, Workload w, IdleStrategy idle) {
            this.pub = pub;
            this.sub = sub;
            this.idle = idle;
            this.length = Math.max(AeronIpc.HEADER_BYTES, w.payloadBytes);
            this.depth = w.depth;
            this.request = new UnsafeBuffer(ByteBuffer.allocateDirect(length));
            request.putInt(0, index);
            this.sentAt = new long[depth];
        }

        private void onResponse(DirectBuffer buffer, int offset, int len, io.aeron.logbuffer.Header header) {
            long seq = buffer.getLong(offset + 4);
            if (len != length || seq != completed) {
                throw new IllegalStateException("echo " + seq + " of " + len + " bytes, expected " + completed
                        + " of " + length);
            }
            measurement.record(sentAt[(int) (completed % depth)], System.nanoTime());
            completed++;
        }

        @Override
        public void run(Measurement m) throws TimeoutException {
            measurement = m;
            long drainDeadline = 0;
            while (true) {
                boolean running = m.running();
                if (!running) {
                    if (sent == completed) {
                        return;
                    }
                    long now = System.nanoTime();
                    if (drainDeadline == 0) {
                        drainDeadline = now + DRAIN_TIMEOUT_NS;
                    } else if (now - drainDeadline > 0) {
                        throw new TimeoutException((sent - completed) + " messages still outstanding after the stop");
                    }
                }
                int work = 0;
                while (running && sent - completed < depth) {
                    request.putLong(4, sent);
                    sentAt[(int) (sent % depth)] = System.nanoTime();
                    long r = pub.offer(request, 0, length);
                    if (r < 0) {
                        if (r == Publication.CLOSED || r == Publication.MAX_POSITION_EXCEEDED
                                || r == Publication.NOT_CONNECTED) {
                            throw new IllegalStateException("request publication failed: " + r);
                        }
                        break;          // back-pressured: poll, then try again
                    }
                    sent++;
                    work++;
                }
                work += sub.poll(assembler, 64);
                idle.idle(work);
            }
        }
    }

    @Override
    public void close() {
        synchronized (lanes) {
            for (AutoCloseable c : lanes) {
                try {
                    c.close();
                } catch (Exception e) {
                    // closing is best effort: the client goes next
                }
            }
            lanes.clear();
        }
        aeron.close();
    }
}
