package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.CallObserver;
import dev.baton.ServerCall;
import dev.baton.ServerInterceptor;
import dev.baton.Status;
import dev.baton.tracker.internal.LeaseToken;

import java.security.SecureRandom;
import java.time.Instant;

/**
 * Makes a server that the tracker hands out enforce its leases: add it to the server before starting it, and
 * register the server with it ({@link TrackerLeases#register(dev.baton.Server, String, TrackerGuard)}). The
 * server then answers only calls made through a {@link TrackerLease} of it: by the holder's node (its rank), before
 * the lease's time limit. Every other call is refused with PERMISSION_DENIED, and the
 * handler never runs.
 *
 * <pre>{@code
 * TrackerGuard guard = TrackerGuard.create();
 * Server board = node.newServer("board").intercept(guard).blocking(0, this::run).start();
 * TrackerRegistration reg = TrackerLeases.register(board, "rasp4", guard);
 * }</pre>
 *
 * <h2>How</h2>
 * The guard holds a random 256-bit secret, sent to the tracker once at registration. Each lease carries a token
 * (lease id, holder rank, server id, end time) signed with it (HMAC-SHA256), which the holder's client sends as
 * request metadata; the guard checks it without asking the tracker. What it does not see: a lease released before
 * its limit stays valid on the server until that limit (the tracker may already have handed the server to the
 * next caller); and the end time is compared on the wall clock, so hosts whose clocks differ by D enforce it D
 * early or late.
 *
 * <p>Thread-safe; one guard per server.
 */
public final class TrackerGuard implements ServerInterceptor {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] secret;

    private TrackerGuard(byte[] secret) {
        this.secret = secret;
    }

    /** A guard with a fresh secret. */
    public static TrackerGuard create() {
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        return new TrackerGuard(secret);
    }

    byte[] secret() {
        return secret.clone();
    }

    @Override
    public CallObserver interceptCall(ServerCall call) {
        String text = call.metadata().get(LeaseToken.METADATA_KEY);
        if (text == null) {
            throw denied("this server is handed out by a tracker: call it through a TrackerLease");
        }
        LeaseToken.Fields f = LeaseToken.parse(text);
        if (f == null || !LeaseToken.verify(secret, f) || f.serverId() != call.server().serverId()) {
            throw denied("the lease token is not one of this server's");
        }
        if (f.holderRank() != call.sourceRank()) {
            throw denied("lease " + f.leaseId() + " is held by rank " + f.holderRank() + ", not rank "
                    + call.sourceRank());
        }
        if (System.currentTimeMillis() >= f.endEpochMs()) {
            throw denied("lease " + f.leaseId() + " ended at " + Instant.ofEpochMilli(f.endEpochMs()));
        }
        return null;
    }

    private static BatonException denied(String why) {
        return Status.of(Status.Code.PERMISSION_DENIED, why).asException();
    }
}
