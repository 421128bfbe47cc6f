package dev.baton.isolation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which socket directories a starting pool takes for those of ended processes, in a temp directory of its own. */
@Timeout(30)
class PoolDirectoriesTest {

    @TempDir
    Path tmp;

    @Test
    void removesThoseOfEndedProcessesAndOfReusedPidsOnly() throws Exception {
        long self = ProcessHandle.current().pid();
        Path live = Files.createDirectory(tmp.resolve("baton-isolation-" + self + "-1"));
        Path noSuchProcess = Files.createDirectory(tmp.resolve("baton-isolation-" + (1L << 40) + "-2"));
        Files.createFile(noSuchProcess.resolve("w0.sock"));
        // Our pid, but last changed a day before this process started: an ended process's, the pid reused since.
        Path reused = Files.createDirectory(tmp.resolve("baton-isolation-" + self + "-3"));
        Instant started = ProcessHandle.current().info().startInstant().orElseThrow();
        Files.setLastModifiedTime(reused, FileTime.from(started.minusSeconds(86_400)));
        Path otherName = Files.createDirectory(tmp.resolve("baton-isolation-x-4"));
        Path aFile = Files.createFile(tmp.resolve("baton-isolation-" + (1L << 40) + "-5"));

        assertEquals(2, PoolDirectories.removeThoseOfEndedProcesses(tmp));
        assertFalse(Files.exists(noSuchProcess), "a pid no process has");
        assertFalse(Files.exists(reused), "a pid whose process started after the directory last changed");
        assertTrue(Files.isDirectory(live), "this running process's");
        assertTrue(Files.isDirectory(otherName) && Files.exists(aFile), "not a pool's directory: left alone");
    }
}
