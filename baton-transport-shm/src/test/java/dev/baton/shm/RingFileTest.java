package dev.baton.shm;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ring file and its directory: owner-only, checked before mapping, gone once mapped, stale files swept. */
@Timeout(30)
class RingFileTest {

    private final ShmTestDirectory dir = new ShmTestDirectory();

    @AfterEach
    void removeTheDirectory() throws IOException {
        dir.close();
    }

    @Test
    void theDirectoryAndTheRingFileAreTheOwnersOnlyAndTheNameGoesOnceBothSidesMappedIt() throws IOException {
        ShmDirectory d = ShmDirectory.open(dir.path);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.path)));
        Path file = d.newRingFile();
        try (RingFile made = RingFile.create(file, 4096)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            try (RingFile mapped = RingFile.open(file, d.owner())) {
                assertFalse(Files.exists(file), "the name is gone once the accepting side mapped it");
                made.up.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                ByteBuffer got = ByteBuffer.allocate(3);
                assertEquals(3, mapped.up.read(got));
                assertEquals(List.of((byte) 1, (byte) 2, (byte) 3), List.of(got.get(0), got.get(1), got.get(2)));
            }
        }
    }

    @Test
    void aRingFileOpenToOthersTruncatedOrForeignIsRefusedAndRemoved() throws IOException {
        ShmDirectory d = ShmDirectory.open(dir.path);
        Path open = d.newRingFile();
        RingFile.create(open, 4096).close();
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-rw-rw-"));
        IOException e = assertThrows(IOException.class, () -> RingFile.open(open, d.owner()));
        assertTrue(e.getMessage().contains("rw-rw-rw-"), e.getMessage());
        assertFalse(Files.exists(open));

        Path truncated = d.newRingFile();
        RingFile.create(truncated, 8192).close();
        try (FileChannel fc = FileChannel.open(truncated, StandardOpenOption.WRITE)) {
            fc.truncate(RingFile.size(4096) + 1);
        }
        e = assertThrows(IOException.class, () -> RingFile.open(truncated, d.owner()));
        assertTrue(e.getMessage().contains("does not match its size"), e.getMessage());

        Path foreign = d.newRingFile();
        Files.write(foreign, new byte[(int) RingFile.size(4096)]);
        Files.setPosixFilePermissions(foreign, PosixFilePermissions.fromString("rw-------"));
        e = assertThrows(IOException.class, () -> RingFile.open(foreign, d.owner()));
        assertTrue(e.getMessage().contains("not a Baton ring"), e.getMessage());
        assertEquals(List.of(), dir.contents());
    }

    @Test
    void aDirectoryOpenToOthersIsRefused() throws IOException {
        Files.createDirectory(dir.path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.setPosixFilePermissions(dir.path, PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException e = assertThrows(IOException.class, () -> ShmDirectory.open(dir.path));
        assertTrue(e.getMessage().contains("rwxrwxrwx"), e.getMessage());
    }

    @Test
    void theFilesOfEndedProcessesAreRemovedAndOnlyThose() throws Exception {
        ShmDirectory d = ShmDirectory.open(dir.path);
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        long dead = p.pid();
        long self = ProcessHandle.current().pid();
        for (String name : List.of("node-abc-" + dead + ".sock", "ring-" + dead + "-7", "node-abc-" + self + ".sock",
                "ring-" + self + "-1", "somebody-elses-file")) {
            Files.createFile(dir.path.resolve(name));
        }
        assertEquals(2, d.removeStale());
        assertEquals(List.of("node-abc-" + self + ".sock", "ring-" + self + "-1", "somebody-elses-file"),
                dir.contents());
    }
}
