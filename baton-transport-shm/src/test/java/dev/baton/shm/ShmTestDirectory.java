package dev.baton.shm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/** A shared-memory directory of its own for one test class, under /dev/shm; removed at the end. */
final class ShmTestDirectory implements AutoCloseable {

    final Path path = Path.of("/dev/shm", "baton-test-" + UUID.randomUUID());

    /** What is in the directory now (names). */
    List<String> contents() {
        if (!Files.isDirectory(path)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(path)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        if (Files.exists(path)) {
            try (Stream<Path> s = Files.walk(path)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
