package dev.baton.bench;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.nio.file.Path;

/**
 * What the Aeron IPC ping ({@link AeronTarget}, in the harness) and pong ({@link AeronEcho}, in the server JVM)
 * agree on. Each message starts with the client lane's index (i32) and a sequence number (i64), inside the
 * workload's payload; the pong echoes the whole message on the lane's own response stream.
 *
 * <pre>
 *   request stream   1000 + server index   one exclusive publication per client lane, one subscription per server
 *   response stream  2000 + lane index     one exclusive publication per lane in the pong, the lane subscribes
 * </pre>
 */
final class AeronIpc {

    static final String CHANNEL = "aeron:ipc";
    static final int REQUEST_STREAM = 1000;
    static final int RESPONSE_STREAM = 2000;
    /** Response streams the pong makes: at least the most client threads a workload has. */
    static final int MAX_LANES = 8;
    /** 16 MiB terms: messages up to 2 MiB (a term / 8), and 48 MiB of sparse log per publication. */
    static final int TERM_LENGTH = 16 << 20;
    /** A large fragment (32 KiB, against 1,408 B by default; the limit is just under 64 KiB): 1 MiB is 33 fragments. */
    static final int MTU_LENGTH = 32 * 1024;
    static final int HEADER_BYTES = 12;

    private AeronIpc() {
    }

    /** The media driver's directory: named after the harness JVM, whose server JVM runs the driver. */
    static Path directory(long harnessPid) {
        return Path.of("/dev/shm", "baton-bench-aeron-" + harnessPid);
    }

    /** Busy-poll mode spins, as Aeron's low-latency setups do; otherwise Aeron's default backoff (spin, yield, park). */
    static IdleStrategy idleStrategy(boolean busyPoll) {
        return busyPoll ? new BusySpinIdleStrategy() : new BackoffIdleStrategy();
    }
}
