package dev.baton.systemtest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bin/baton from the distribution archive, unpacked where there is no source checkout: it runs the jars it came
 * with (no build), including a whole demo (a master and two node JVMs), and says plainly that bench needs the
 * checkout.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DistributionTest {

    @TempDir
    Path dir;

    private record Run(int exitCode, String out) {
    }

    private Run baton(Path home, String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(home.resolve("bin/baton").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(dir.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("BATON_JAVA_OPTS");
        Process p = pb.start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "bin/baton " + String.join(" ", args) + " still running");
        return new Run(p.exitValue(), out);
    }

    @Test
    void theUnpackedArchiveRunsWithoutTheCheckout() throws Exception {
        Path archive;
        try (Stream<Path> files = Files.list(Path.of("..", "baton-cli", "target"))) {
            archive = files.filter(f -> f.getFileName().toString().endsWith("-dist.tar.gz")).findFirst()
                    .orElseThrow(() -> new AssertionError("no baton-cli/target/*-dist.tar.gz: baton-cli's package phase"
                            + " builds it (the reactor builds baton-cli before this module)"));
        }
        Process tar = new ProcessBuilder("tar", "xzf", archive.toAbsolutePath().toString(), "-C", dir.toString())
                .inheritIO().start();
        assertEquals(0, tar.waitFor());
        Path home;
        try (Stream<Path> unpacked = Files.list(dir)) {
            home = unpacked.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        assertTrue(Files.exists(home.resolve("lib/baton-cli.jar")) && Files.isExecutable(home.resolve("bin/baton")));

        Run version = baton(home, "--version");
        assertEquals(0, version.exitCode(), version.out());
        assertTrue(version.out().startsWith("baton "), version.out());
        assertTrue(!version.out().contains("building"), "nothing is built: " + version.out());

        Run demo = baton(home, "demo", "--nodes", "2", "--calls", "50", "--warmup", "10",
                "--log-dir", dir.resolve("demo-logs").toString());      // not the temp directory's default
        assertEquals(0, demo.exitCode(), demo.out());
        assertTrue(demo.out().contains("OK: 300 calls between 2 nodes"), demo.out());

        Run certs = baton(home, "certs", "--dir", dir.resolve("pki").toString(), "--names", "a");   // BouncyCastle's jars
        assertEquals(0, certs.exitCode(), certs.out());
        assertTrue(certs.out().contains("FOR DEVELOPMENT ONLY") && Files.exists(dir.resolve("pki/a-key.pem")),
                certs.out());

        Run bench = baton(home, "bench", "--quick");
        assertEquals(2, bench.exitCode(), bench.out());
        assertTrue(bench.out().contains("source checkout"), bench.out());
    }
}
