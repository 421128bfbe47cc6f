package dev.baton.systemtest;

import dev.baton.spi.connection.Handshake;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Waves of hostile connections of every {@link Kind} at one node or master, from a thread of its own
 * ({@code mixed-attack-<port>}): every {@code period}, {@code perKind} new connections of each kind, each kind a
 * {@link RawPeers} crowd, kept until the target has closed all of them. So the target always has several waves in
 * flight: silent and slow ones wait out its handshake timeout while new garbage arrives.
 *
 * <p>Start with {@link #start}; {@link #awaitClosedByTarget} waits until the last wave is out and the target has
 * closed every connection (every kind but {@link Kind#RESET}, which this side resets as soon as it connected);
 * {@link #close()} closes what is left and ends every thread. The figures may be read from any thread.
 */
final class MixedAttack implements AutoCloseable {

    static final String THREAD_PREFIX = "mixed-attack-";

    /** What a crowd's connections do. */
    enum Kind {
        /** Random bytes, not a Baton opening. */
        GARBAGE(random -> RawPeers.Script.garbage(random, 256)),
        /** Part of a valid opening, then silence. */
        TRUNCATED_OPENING(random -> RawPeers.Script.truncatedOpening(1 + random.nextInt(Handshake.LENGTH - 1))),
        /** A valid opening, a frame header promising more than follows, then silence. */
        TRUNCATED_FRAME(random -> RawPeers.Script.truncatedFrame(random, 4096)),
        /** A valid opening, then frames of random types, flags and lengths. */
        RANDOM_FRAMES(random -> RawPeers.Script.randomFrames(random, 4)),
        /** The opening one byte every 0.5 s: slowloris. */
        SLOWLORIS(random -> RawPeers.Script.slowOpening(Duration.ofMillis(500))),
        /** Connects and says nothing. */
        SILENT(random -> RawPeers.Script.silent()),
        /** A valid opening, then nothing at all. */
        MUTE(random -> RawPeers.Script.mute()),
        /** Connects and resets at once (churn in the target's accept path). */
        RESET(random -> RawPeers.Script.silent());

        private final Function<Random, RawPeers.Script> script;

        Kind(Function<Random, RawPeers.Script> script) {
            this.script = script;
        }
    }

    private final InetSocketAddress target;
    private final int waves;
    private final int perKind;
    private final long periodNs;
    private final Random random;
    private final Thread attacker;
    private final List<Crowd> crowds = new ArrayList<>();        // guarded by this
    private final List<String> connectFailures = new ArrayList<>();    // guarded by this
    private int opened;                                           // guarded by this
    private volatile boolean stopping;
    private volatile boolean wavesDone;

    private record Crowd(Kind kind, RawPeers peers) {
    }

    private MixedAttack(InetSocketAddress target, int waves, int perKind, Duration period, long seed) {
        this.target = target;
        this.waves = waves;
        this.perKind = perKind;
        this.periodNs = period.toNanos();
        this.random = new Random(seed);
        this.attacker = Thread.ofPlatform().daemon(true).name(THREAD_PREFIX + target.getPort()).unstarted(this::run);
    }

    /** Starts {@code waves} waves, one every {@code period}, of {@code perKind} connections of every kind. */
    static MixedAttack start(InetSocketAddress target, int waves, int perKind, Duration period, long seed) {
        MixedAttack attack = new MixedAttack(target, waves, perKind, period, seed);
        attack.attacker.start();
        return attack;
    }

    private void run() {
        long next = System.nanoTime();
        for (int wave = 0; wave < waves && !stopping; wave++) {
            for (Kind kind : Kind.values()) {
                if (!stopping) {
                    open(kind);
                }
            }
            next += periodNs;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);        // the waves' pace, not a wait for a condition
            }
        }
        wavesDone = true;
    }

    private void open(Kind kind) {
        RawPeers peers = null;
        try {
            peers = RawPeers.connect(target, perKind, kind.script.apply(random));
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                connectFailures.add(kind + ": " + e);
            }
            return;
        }
        synchronized (this) {
            opened += perKind;
            if (kind == Kind.RESET) {
                peers.closeWithReset();
            } else if (!stopping) {
                crowds.add(new Crowd(kind, peers));
                return;
            }
        }
        peers.close();
    }

    /** Connections opened so far, of every kind. */
    synchronized int opened() {
        return opened;
    }

    /** Crowds that could not connect (or write their first bytes), with why; empty when all could. */
    synchronized List<String> connectFailures() {
        return List.copyOf(connectFailures);
    }

    boolean wavesDone() {
        return wavesDone;
    }

    /**
     * Waits until every wave is out and the target has closed every connection it was sent (all but the reset
     * ones); returns how long that took after the last wave.
     */
    Duration awaitClosedByTarget(Duration timeout) {
        Wait.until(this::wavesDone, timeout, this::toString);
        return Wait.until(() -> open() == 0, timeout, () -> "still open after " + timeout + ": " + this);
    }

    /** Connections the target has not closed yet. */
    synchronized int open() {
        return crowds.stream().mapToInt(c -> c.peers.size() - c.peers.closedByNode()).sum();
    }

    /** Per kind: how long after its connect the target closed the longest-lived connection, in ms (-1: none). */
    synchronized Map<Kind, Long> maxLifetimeMs() {
        Map<Kind, Long> max = new EnumMap<>(Kind.class);
        for (Crowd c : crowds) {
            long[] lived = c.peers.closedAfterMs();
            long longest = lived.length == 0 ? -1 : lived[lived.length - 1];
            max.merge(c.kind, longest, Math::max);
        }
        return max;
    }

    /** The longest any connection lived before the target closed it, in ms. */
    long maxLifetimeOverallMs() {
        return maxLifetimeMs().values().stream().mapToLong(Long::longValue).max().orElse(-1);
    }

    /** Ends the waves, closes every connection still open and ends every thread. Idempotent. */
    @Override
    public void close() {
        stopping = true;
        try {
            attacker.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Crowd> all;
        synchronized (this) {
            all = List.copyOf(crowds);
        }
        all.forEach(c -> c.peers.close());
    }

    @Override
    public synchronized String toString() {
        return "MixedAttack[port " + target.getPort() + ": " + opened + " connections in " + crowds.size()
                + " crowds (and resets), " + open() + " not closed by the target, longest lived by kind (ms) "
                + maxLifetimeMs() + (connectFailures.isEmpty() ? "" : ", connect failures " + connectFailures) + "]";
    }
}
