package dev.baton.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The COMMAND of {@link SuperviseCommandTest}: appends {@code start <wall-clock millis>} to the file given as its
 * first argument, then, by its second: {@code crash} exits with 3, {@code ok} exits with 0, {@code sleep} sleeps
 * until killed and appends {@code sigterm} from its shutdown hook when it gets SIGTERM.
 */
public final class SuperviseTarget {

    private SuperviseTarget() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        append(file, "start " + System.currentTimeMillis());
        switch (args[1]) {
            case "crash" -> System.exit(3);
            case "ok" -> System.exit(0);
            case "sleep" -> {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> append(file, "sigterm")));
                append(file, "sleeping");
                Thread.sleep(Long.MAX_VALUE);
            }
            default -> throw new IllegalArgumentException(args[1]);
        }
    }

    private static void append(Path file, String line) {
        try {
            Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND, StandardOpenOption.SYNC);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
