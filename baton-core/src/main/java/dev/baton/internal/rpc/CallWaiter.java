package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.spi.TransportConnection;

import java.util.concurrent.locks.LockSupport;

/**
 * Waits for a blocking call: spins briefly, reading the call's connection on the waiting thread, then parks
 * until the outcome is delivered.
 *
 * <p>Why spin: on a machine where waking a parked thread on another core costs 20-40 µs, that wake-up is most of
 * a loopback round trip. A caller that polls its own connection while it spins reads its response itself: neither
 * the I/O thread nor the caller has to be woken. It says so ({@code pollingStarted}), so a transport whose loop
 * spins (shared memory) lets the loop sleep meanwhile: two threads spinning for one call would be one too many on
 * a machine with two cores. The spin lasts {@code callerSpin}, longer for a large request
 * (its answer cannot come before it has crossed twice), and while bytes keep arriving.
 */
final class CallWaiter {

    /** The most a blocking caller's spin grows for the size of its request. */
    private static final long MAX_SIZE_SPIN_NS = 2_000_000L;
    /** How long past the deadline a parked caller waits for the timer before it fails the call itself. */
    private static final long TIMER_GRACE_NS = 1_000_000_000L;

    private final long callerSpinNs;

    CallWaiter(long callerSpinNs) {
        this.callerSpinNs = callerSpinNs;
    }

    /** Waits for {@code call}'s outcome and returns its response, or throws its failure. Releases the starter's reference. */
    Message await(PendingCall call) {
        TransportConnection prePolled = call.prePolled;     // the sender began polling it for this thread
        call.prePolled = null;
        try {
            ConnState on = call.connection();
            if (!call.delivered() && on != null && on.connection.readByCurrentThread()) {
                // The response can only be read by this very thread: blocking would wait out the deadline.
                call.fail(Status.of(Status.Code.INVALID_ARGUMENT, "a blocking call from the thread that reads its "
                        + "connection (an I/O thread, or a handler run while a blocked call polls) cannot get its "
                        + "response; use callAsync"));
            }
            if (!call.delivered() && callerSpinNs > 0) {
                TransportConnection p = prePolled;
                prePolled = null;
                spin(call, p);
            }
            if (!call.delivered()) {
                park(call);
            }
            BatonException e = call.error();
            if (e != null) {
                throw new BatonException(e.status());     // a fresh one: its stack trace is the caller's
            }
            return call.result();
        } finally {
            if (prePolled != null) {
                prePolled.pollingStopped();
            }
            call.release();
        }
    }

    /** Spins, polling the call's connection; {@code polled}: the connection this thread already polls, or null. */
    private void spin(PendingCall call, TransportConnection polled) {
        // 1 ns per request byte, about the copy rate of loopback TCP here; extended while this thread reads bytes
        // of the connection (a large response streaming in), ending after callerSpin without any.
        long now = System.nanoTime();
        long end = now + callerSpinNs + Math.min(MAX_SIZE_SPIN_NS, call.request().remaining());
        // The connection this thread says it polls, so its loop may rest; a failover can move the call.
        try {
            // The clock is read every 16 turns: a read costs about as much as a turn (28 ns here), and a turn
            // that ends in a response ends sooner without it.
            for (int turn = 1; !call.delivered(); turn++) {
                if ((turn & 15) == 0 && (now = System.nanoTime()) - end >= 0) {
                    break;
                }
                ConnState cs = call.connection();
                if (cs == null) {
                    Thread.onSpinWait();
                    continue;
                }
                if (cs.connection != polled) {
                    if (polled != null) {
                        polled.pollingStopped();
                    }
                    polled = cs.connection;
                    polled.pollingStarted();
                }
                if (polled.poll()) {
                    end = Math.max(end, now + callerSpinNs);
                } else {
                    Thread.onSpinWait();
                }
            }
        } finally {
            if (polled != null) {
                polled.pollingStopped();
            }
        }
    }

    private static void park(PendingCall call) {
        call.waitingThread(Thread.currentThread());
        boolean interrupted = false;
        // The deadline timer completes the call; the grace covers a stalled timer thread.
        long giveUp = call.deadlineNanos() + TIMER_GRACE_NS;
        while (!call.delivered()) {
            if (Thread.interrupted()) {
                interrupted = true;
                call.cancel(Status.of(Status.Code.CANCELLED, "interrupted while waiting for the response"));
            }
            long left = giveUp - System.nanoTime();
            if (left <= 0) {
                call.fail(Status.of(Status.Code.DEADLINE_EXCEEDED, "deadline passed"));
            }
            LockSupport.parkNanos(call, Math.max(left, 1_000L));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
