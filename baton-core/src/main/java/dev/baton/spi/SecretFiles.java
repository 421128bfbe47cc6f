package dev.baton.spi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The files of a {@link ClusterSecret#fromFiles} secret, and the fixed secret last read from them, read again when
 * they change. The same rules as TLS's key files (dev.baton.internal.tls.TlsContextSource): {@link #current()} is
 * called at each new connection's handshake; at most every reload interval one caller compares the files'
 * modification times, sizes and file keys (a {@code stat} each) with those of the files in force, while the others go
 * on with the secret in force. Files that changed are read again once they have stayed unchanged for a reload
 * interval, or were last written at least that long ago: a rotation step writes two files, and a process must not take
 * the state between the two writes. Files that cannot be used keep the secret in force, logged once for that state of
 * the files; a later change is tried again.
 *
 * <p>Thread-safe.
 */
final class SecretFiles {

    private static final System.Logger LOG = System.getLogger(ClusterSecret.class.getName());

    /** One file's state: what a change is judged by. A missing or unreadable file has a null time. */
    private record Stamp(Path file, FileTime modified, long size, Object fileKey) {
    }

    /** A fixed secret and the state of the files it was read from. */
    private record Loaded(ClusterSecret secret, List<Stamp> stamps) {
    }

    private final Path proveWith;
    private final Path alsoAccept;
    private final long reloadIntervalNs;
    private final AtomicBoolean checking = new AtomicBoolean();
    private volatile Loaded inForce;
    private volatile long nextCheckNanos;
    private List<Stamp> changed;            // guarded by checking: the files' state since changedSinceNanos
    private long changedSinceNanos;         // guarded by checking
    private List<Stamp> lastFailed;         // guarded by checking

    /** Reads the files now. @throws IllegalArgumentException naming a file that cannot be used */
    SecretFiles(Path proveWith, Path alsoAccept, Duration reloadInterval) {
        this.proveWith = proveWith;
        this.alsoAccept = alsoAccept;
        this.reloadIntervalNs = reloadInterval.toNanos();
        List<Stamp> stamps = stamps();
        this.inForce = new Loaded(ClusterSecret.readFiles(proveWith, alsoAccept), stamps);
        this.nextCheckNanos = System.nanoTime() + reloadIntervalNs;
    }

    /** The fixed secret in force, once the files were checked for a change (at most every reload interval). */
    ClusterSecret current() {
        reloadIfChanged();
        return inForce.secret();
    }

    private void reloadIfChanged() {
        long now = System.nanoTime();
        if (now - nextCheckNanos < 0 || !checking.compareAndSet(false, true)) {
            return;
        }
        try {
            nextCheckNanos = now + reloadIntervalNs;
            List<Stamp> stamps = stamps();
            if (stamps.equals(inForce.stamps()) || stamps.equals(lastFailed)) {
                return;
            }
            if (!stamps.equals(changed)) {
                changed = stamps;
                changedSinceNanos = now;
            }
            if (!settled(stamps, now)) {
                return;
            }
            try {
                inForce = new Loaded(ClusterSecret.readFiles(proveWith, alsoAccept), stamps);
                lastFailed = null;
                LOG.log(System.Logger.Level.INFO, "cluster secret: {0} changed; new connections prove and check the "
                        + "secrets read from them", files());
            } catch (RuntimeException e) {
                lastFailed = stamps;
                LOG.log(System.Logger.Level.WARNING, "cluster secret: {0} changed but cannot be used; connections go on "
                        + "with the secrets in force until the files change again: {1}", files(), e.getMessage());
            }
        } finally {
            checking.set(false);
        }
    }

    /** True when the files have stayed as they are for a reload interval, or were last written that long ago. */
    private boolean settled(List<Stamp> stamps, long now) {
        if (now - changedSinceNanos >= reloadIntervalNs) {
            return true;
        }
        long newest = Long.MIN_VALUE;
        for (Stamp s : stamps) {
            newest = Math.max(newest, s.modified() == null ? Long.MAX_VALUE : s.modified().toMillis());
        }
        return newest != Long.MAX_VALUE && System.currentTimeMillis() - newest >= reloadIntervalNs / 1_000_000;
    }

    private String files() {
        return alsoAccept == null ? proveWith.toString() : proveWith + " / " + alsoAccept;
    }

    private List<Stamp> stamps() {
        List<Stamp> stamps = new ArrayList<>(2);
        for (Path p : alsoAccept == null ? List.of(proveWith) : List.of(proveWith, alsoAccept)) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                stamps.add(new Stamp(p, a.lastModifiedTime(), a.size(), a.fileKey()));
            } catch (IOException e) {
                stamps.add(new Stamp(p, null, -1, null));   // missing now: a change, and a read that fails
            }
        }
        return stamps;
    }
}
