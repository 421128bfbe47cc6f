package dev.baton.spi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/**
 * Files and directories named after the process that made them (its pid in the name), which a process killed with
 * SIGKILL leaves behind: the shared-memory transport's rings, payload files and sockets, a worker pool's socket
 * directory. Whoever starts next removes those of ended processes, by the one rule here.
 */
public final class ProcessFiles {

    private ProcessFiles() {
    }

    /**
     * True when process {@code pid} is not running, or is not the one that made {@code file}: it started after the
     * file last changed (the pid was reused; a second of slack, the start time being coarser than the file's). False
     * when that cannot be told (the file's time is unreadable).
     */
    public static boolean leftByEndedProcess(long pid, Path file) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive()) {
            return true;
        }
        Optional<Instant> started = h.get().info().startInstant();
        try {
            Instant changed = Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toInstant();
            return started.isPresent() && started.get().isAfter(changed.plusSeconds(1));
        } catch (IOException e) {
            return false;
        }
    }
}
