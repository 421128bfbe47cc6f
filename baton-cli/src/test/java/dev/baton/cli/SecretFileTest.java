package dev.baton.cli;

import dev.baton.BatonException;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --secret-file}: a master and a node started with it, as their own JVMs, admit only who proves it; with
 * {@code --secret-accept-file}, a second secret too.
 */
@Timeout(90)
class SecretFileTest {

    private final List<Process> started = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void noChildProcessIsLeftBehind() {
        started.forEach(Process::destroyForcibly);
        ChildProcesses.assertNoneLeft(Duration.ofSeconds(10));
    }

    private Path secretFile(String name, String permissions) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, "a secret of the test cluster, 41 bytes\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(permissions));
        return f;
    }

    @Test
    void aMasterAndANodeWithTheSecretFileAdmitOnlyWhoProvesIt() throws Exception {
        Path secret = secretFile("cluster.secret", "rw-------");
        Process master = ChildProcesses.startCli(started, "master", "--port", "0", "--secret-file", secret.toString(),
                "--supervised");
        String address = ChildProcesses.awaitFirstLine(master, DemoCommand.MASTER_READY).group(1);
        Process node = ChildProcesses.startCli(started, "node", "--master", address, "--secret-file", secret.toString(),
                "--name", "sealed", "--supervised");
        String nodeAddress = ChildProcesses.awaitFirstLine(node,
                Pattern.compile("baton node rank 0 listening on (\\S+)")).group(1);

        BatonException e = assertThrows(BatonException.class, () -> Node.join(NodeOptions.builder().master(address)
                .name("stranger").joinTimeout(Duration.ofSeconds(5)).build()));
        assertEquals(Status.Code.UNAUTHENTICATED, e.code(), e.getMessage());

        CliRun with = CliRun.of("health", "--node", nodeAddress, "--secret-file", secret.toString());
        assertEquals(0, with.exitCode(), with.out() + with.err());
        CliRun without = CliRun.of("health", "--node", nodeAddress);
        assertEquals(1, without.exitCode(), without.out() + without.err());
        assertTrue(without.err().contains("UNAUTHENTICATED"), without.err());
        CliRun status = CliRun.of("health", "--master", address, "--secret-file", secret.toString());
        assertEquals(0, status.exitCode(), status.out() + status.err());

        node.getOutputStream().close();
        assertTrue(node.waitFor(10, TimeUnit.SECONDS));
        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, master.exitValue());
    }

    @Test
    void aSecretFileOthersCanReadIsAUsageError() throws Exception {
        Path open = secretFile("open.secret", "rw-r--r--");
        CliRun r = CliRun.of("master", "--port", "0", "--secret-file", open.toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("--secret-file") && r.err().contains("chmod 600"), r.err());
        r = CliRun.of("health", "--node", "127.0.0.1:1", "--secret-file", dir.resolve("missing").toString());
        assertEquals(2, r.exitCode(), r.err());
        assertTrue(r.err().contains("no such file"), r.err());
    }

    private Path secretFile(String name, String content, String permissions) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(permissions));
        return f;
    }

    /**
     * {@code --secret-accept-file}: a master in rotation step (a) (proves OLD, accepts NEW too) answers a tool in step
     * (b) (proves NEW, accepts OLD too), not one on NEW alone; the option needs {@code --secret-file} and a good file.
     */
    @Test
    void aSecretAcceptFileLetsProcessesOfNeighbouringRotationStepsTalk() throws Exception {
        Path old = secretFile("old.secret", "the old secret of the test cluster", "rw-------");
        Path next = secretFile("new.secret", "the new secret of the test cluster", "rw-------");
        Process master = ChildProcesses.startCli(started, "master", "--port", "0", "--secret-file", old.toString(),
                "--secret-accept-file", next.toString(), "--supervised");
        String address = ChildProcesses.awaitFirstLine(master, DemoCommand.MASTER_READY).group(1);

        CliRun stepB = CliRun.of("health", "--master", address, "--secret-file", next.toString(),
                "--secret-accept-file", old.toString());
        assertEquals(0, stepB.exitCode(), stepB.out() + stepB.err());
        CliRun stepC = CliRun.of("health", "--master", address, "--secret-file", next.toString());
        assertEquals(1, stepC.exitCode(), stepC.out() + stepC.err());
        assertTrue(stepC.err().contains("UNAUTHENTICATED"), stepC.err());

        CliRun alone = CliRun.of("health", "--master", address, "--secret-accept-file", next.toString());
        assertEquals(2, alone.exitCode(), alone.err());
        assertTrue(alone.err().contains("--secret-accept-file needs --secret-file"), alone.err());
        Path open = secretFile("open.secret", "the new secret of the test cluster", "rw-r--r--");
        CliRun bad = CliRun.of("health", "--master", address, "--secret-file", old.toString(),
                "--secret-accept-file", open.toString());
        assertEquals(2, bad.exitCode(), bad.err());
        assertTrue(bad.err().contains("--secret-accept-file") && bad.err().contains("chmod 600"), bad.err());

        master.getOutputStream().close();
        assertTrue(master.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, master.exitValue());
    }

    @Test
    void aMasterOnEveryInterfaceWithoutASecretWarnsOnce() throws Exception {
        Path errors = dir.resolve("stderr");
        Process open = ChildProcesses.startCli(started, ProcessBuilder.Redirect.to(errors.toFile()),
                "master", "--host", "0.0.0.0", "--port", "0", "--supervised");
        ChildProcesses.awaitFirstLine(open, DemoCommand.MASTER_READY);
        String said = Files.readString(errors);
        assertTrue(said.contains("warning: the master listens on") && said.contains("no cluster secret"), said);
        assertEquals(said.indexOf("warning:"), said.lastIndexOf("warning:"), "once");
        open.getOutputStream().close();
        assertTrue(open.waitFor(10, TimeUnit.SECONDS));

        Path quiet = dir.resolve("stderr-quiet");
        Process sealed = ChildProcesses.startCli(started, ProcessBuilder.Redirect.to(quiet.toFile()),
                "master", "--host", "0.0.0.0", "--port", "0", "--supervised",
                "--secret-file", secretFile("s", "rw-------").toString());
        ChildProcesses.awaitFirstLine(sealed, DemoCommand.MASTER_READY);
        assertFalse(Files.readString(quiet).contains("warning:"), Files.readString(quiet));
        sealed.getOutputStream().close();
        assertTrue(sealed.waitFor(10, TimeUnit.SECONDS));
    }
}
