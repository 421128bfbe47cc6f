package dev.baton.shm;

import dev.baton.spi.ProcessFiles;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The directory where one user's nodes on this host meet: {@code /dev/shm/baton-<uid-owner>} unless configured.
 * It is the user's own ({@code rwx------}); a directory of that name that another user made, or opened to others,
 * is refused, so the transport falls back to TCP rather than talk through files another user can reach.
 *
 * <pre>
 *   node-NODEID-PID.sock    a node's Unix socket (the set-up, doorbell and liveness of its connections)
 *   ring-PID-N              a connection's rings between its creation and the accepting side's mapping
 *   pay-PID-N               a payload file (large bodies) between its creation and the reading side's mapping
 * </pre>
 *
 * Every name carries the pid of the process that made it, so a node that starts listening removes what dead
 * processes left ({@link #removeStale()}): a pid no process has, or one whose process started after the file was
 * made (the pid was reused).
 *
 * <p>Thread-safe.
 */
final class ShmDirectory {

    private static final System.Logger LOG = System.getLogger(ShmDirectory.class.getName());
    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

    private final Path dir;
    private final UserPrincipal owner;
    private final long pid = ProcessHandle.current().pid();
    /** Names ring and payload files; process-wide, since every node of this process (same pid) names its own in the same directory. */
    private static final AtomicLong RINGS = new AtomicLong();

    private ShmDirectory(Path dir, UserPrincipal owner) {
        this.dir = dir;
        this.owner = owner;
    }

    /** The default directory: under {@code /dev/shm}, named after the user this process runs as. */
    static Path defaultPath() throws IOException {
        return Path.of("/dev/shm", "baton-" + currentUser().getName());
    }

    /**
     * Opens {@code dir}, making it owner-only if it is missing.
     *
     * @throws IOException it cannot be made, or it exists but is not this user's own with {@code rwx------}
     */
    static ShmDirectory open(Path dir) throws IOException {
        UserPrincipal me = currentUser();
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (FileAlreadyExistsException exists) {
            // checked below
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isDirectory() || !a.owner().equals(me) || !a.permissions().equals(OWNER_ONLY)) {
            throw new IOException(dir + " is not a directory of " + me.getName() + " with permissions rwx------ (it is "
                    + (a.isDirectory() ? "" : "not a directory, ") + a.owner().getName() + ", "
                    + PosixFilePermissions.toString(a.permissions()) + ")");
        }
        return new ShmDirectory(dir, me);
    }

    /** The user this process runs as: the owner of {@code /proc/self}. */
    private static UserPrincipal currentUser() throws IOException {
        return Files.getOwner(Path.of("/proc/self"));
    }

    Path path() {
        return dir;
    }

    UserPrincipal owner() {
        return owner;
    }

    /** Where this process's node {@code nodeId} listens. */
    Path socketOf(long nodeId) {
        return dir.resolve("node-" + Long.toHexString(nodeId) + "-" + pid + ".sock");
    }

    /** Where node {@code nodeId} (of any process of this user) listens; empty when it does not (here). */
    Optional<Path> findSocket(long nodeId) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "node-" + Long.toHexString(nodeId) + "-*.sock")) {
            for (Path p : s) {
                return Optional.of(p);
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "listing " + dir, e);
        }
        return Optional.empty();
    }

    /** A new, unused name for a connection's ring file. */
    Path newRingFile() {
        return dir.resolve("ring-" + pid + "-" + RINGS.incrementAndGet());
    }

    /** A new, unused name for a payload file ({@link PayloadFile}). */
    Path newPayloadFile() {
        return dir.resolve("pay-" + pid + "-" + RINGS.incrementAndGet());
    }

    /** The payload file a peer named in a descriptor: only a plain {@code pay-PID-N} name in this directory, or empty. */
    Optional<Path> payloadFile(String name) {
        return name.matches("pay-[0-9]{1,10}-[0-9]{1,19}") ? Optional.of(dir.resolve(name)) : Optional.empty();
    }

    /**
     * The ring file a peer named in its set-up: only a plain {@code ring-PID-N} name in this directory (never a
     * path), or empty.
     */
    Optional<Path> ringFile(String name) {
        return name.matches("ring-[0-9]{1,10}-[0-9]{1,19}") ? Optional.of(dir.resolve(name)) : Optional.empty();
    }

    /** Removes the sockets and ring files of processes that are gone; returns how many. */
    int removeStale() {
        int removed = 0;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                long owner = pidOf(p.getFileName().toString());
                if (owner > 0 && owner != pid && ProcessFiles.leftByEndedProcess(owner, p)) {
                    try {
                        if (Files.deleteIfExists(p)) {
                            removed++;
                        }
                    } catch (IOException e) {
                        LOG.log(System.Logger.Level.DEBUG, "removing " + p, e);
                    }
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot look for stale files in {0}: {1}", dir, e.toString());
        }
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed {0} file(s) that ended processes left in {1}", removed, dir);
        }
        return removed;
    }

    /** The pid in a name this class makes; -1 for any other name. */
    static long pidOf(String name) {
        String digits;
        if (name.startsWith("node-") && name.endsWith(".sock")) {
            String core = name.substring(5, name.length() - 5);
            digits = core.substring(core.indexOf('-') + 1);
        } else if (name.startsWith("ring-") || name.startsWith("pay-")) {
            String core = name.substring(name.indexOf('-') + 1);
            int dash = core.indexOf('-');
            digits = dash < 0 ? "" : core.substring(0, dash);
        } else {
            return -1;
        }
        // ASCII digits only: Long.parseLong would also take a sign ("ring--7-1" was pid -7) and non-ASCII digits.
        if (digits.isEmpty() || digits.length() > 10 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return Long.parseLong(digits);
    }
}
