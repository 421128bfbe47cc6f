package dev.baton.isolation;

import dev.baton.spi.ProcessFiles;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The directories of the workers' sockets, one per pool, in the temp directory: {@code baton-isolation-<pid>-<n>},
 * {@code rwx------}, named after the process that made it. A pool removes its own when it closes; a process killed
 * with SIGKILL (or by the OOM killer) closes nothing, so a pool that starts first removes those of processes that
 * have ended (a pid no process has, or one whose process started after the directory last changed), as the
 * shared-memory transport does with its files.
 */
final class PoolDirectories {

    private static final System.Logger LOG = System.getLogger(PoolDirectories.class.getName());
    private static final String PREFIX = "baton-isolation-";
    private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d{1,18})-\\d+");

    private PoolDirectories() {
    }

    /** Removes the directories of ended processes, then makes this pool's. */
    static Path create() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        int removed = removeThoseOfEndedProcesses(tmp);
        if (removed > 0) {
            LOG.log(System.Logger.Level.INFO, "removed " + removed + " worker pool director"
                    + (removed == 1 ? "y" : "ies") + " left in " + tmp + " by processes that have ended");
        }
        return Files.createTempDirectory(tmp, PREFIX + ProcessHandle.current().pid() + "-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    /**
     * Removes, in {@code tmp}, the pool directories whose process is not running, as far as this user may (others'
     * are skipped): what they hold (sockets), then themselves. Returns how many went.
     */
    static int removeThoseOfEndedProcesses(Path tmp) {
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(tmp, PREFIX + "*")) {
            for (Path dir : entries) {
                Matcher m = NAME.matcher(dir.getFileName().toString());
                if (m.matches() && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                        && ProcessFiles.leftByEndedProcess(Long.parseLong(m.group(1)), dir)) {
                    try {
                        delete(dir);
                        removed++;
                    } catch (IOException | SecurityException notOurs) {
                        // another user's, or removed meanwhile: not this pool's business
                    }
                }
            }
        } catch (IOException | SecurityException unreadable) {
            LOG.log(System.Logger.Level.DEBUG, "cannot look for stale worker pool directories in " + tmp + ": "
                    + unreadable);
        }
        return removed;
    }

    /** Deletes {@code dir}'s entries (not following links) and {@code dir}. */
    static void delete(Path dir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

}
