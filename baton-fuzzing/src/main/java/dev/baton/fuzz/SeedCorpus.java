package dev.baton.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes a fuzz target's seeds (valid encodings made by the real encoders, and a few hand-made hostile ones) where
 * Jazzer replays them in every plain test run: {@code src/test/resources/<package>/<Class>Inputs/<method>/<name>}.
 * Each target's seed test calls it only when the system property {@value #PROPERTY} is {@code true}, so the
 * checked-in seeds change only when someone regenerates them on purpose.
 */
public final class SeedCorpus {

    /** The system property that makes the seed tests (re)write their seeds. */
    public static final String PROPERTY = "baton.fuzz.writeSeeds";

    private final Path dir;

    private SeedCorpus(Path dir) {
        this.dir = dir;
    }

    /** The regression inputs of {@code target}'s fuzz method {@code method}, relative to the module's directory. */
    public static SeedCorpus of(Class<?> target, String method) {
        Path dir = Path.of("src", "test", "resources").resolve(target.getPackageName().replace('.', '/'))
                .resolve(target.getSimpleName() + "Inputs").resolve(method);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new SeedCorpus(dir);
    }

    /**
     * The checked-in inputs of {@code target}'s fuzz method {@code method} (none when there are none yet): a target
     * runs them once before it measures allocations, so that loading and initialising classes is not counted.
     */
    public static List<byte[]> existing(Class<?> target, String method) {
        Path dir = Path.of("src", "test", "resources").resolve(target.getPackageName().replace('.', '/'))
                .resolve(target.getSimpleName() + "Inputs").resolve(method);
        List<byte[]> inputs = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return inputs;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                inputs.add(Files.readAllBytes(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return inputs;
    }

    /** Writes (or replaces) the seed {@code name}. */
    public SeedCorpus write(String name, byte[] input) {
        try {
            Files.write(dir.resolve(name), input);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }
}
