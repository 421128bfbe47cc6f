package dev.baton;

import dev.baton.spi.ClusterSecret;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rotating the cluster secret (docs/security.md#rotating-the-secret): a master and nodes move from one secret to the
 * next through the three steps, some by restarting and some by their files being rewritten, while processes in
 * neighbouring steps keep connecting and calling each other; a process outside the rotation is refused as before; a
 * bad file keeps the secrets in force and warns once.
 */
@Timeout(60)
class ClusterSecretRotationTest {

    private static final String OLD = "the old secret, thirty-two bytes";
    private static final String NEW = "the new secret, thirty-two bytes";
    private static final String THIRD = "some third secret, just as long!";
    private static final Duration FAST = Duration.ofMillis(50);

    private static ClusterSecret secret(String s) {
        return ClusterSecret.of(s.getBytes(StandardCharsets.US_ASCII));
    }

    /** Writes {@code content} owner-only into a new file and renames it over {@code file}, as an operator should. */
    private static Path write(Path file, String content, String permissions) throws IOException {
        Path tmp = Files.createTempFile(file.getParent(), "tmp", ".secret");
        Files.writeString(tmp, content + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(permissions));
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return file;
    }

    private static Path write(Path file, String content) throws IOException {
        return write(file, content, "rw-------");
    }

    private static final byte[] A = new byte[72];
    private static final byte[] B = new byte[72];
    private static final byte[] NA = new byte[32];
    private static final byte[] NB = new byte[32];

    static {
        B[0] = 1;
        NB[0] = 2;
    }

    /** A proof made by {@code prover}, for {@link #accepts} and {@link #proves}. */
    private static byte[] proofBy(ClusterSecret prover) {
        return prover.proof(true, A, B, NA, NB);
    }

    private static boolean accepts(ClusterSecret verifier, String prover) {
        return verifier.verifies(proofBy(secret(prover)), true, A, B, NA, NB);
    }

    private static boolean proves(ClusterSecret s, String expected) {
        return java.util.Arrays.equals(proofBy(s), proofBy(secret(expected)));
    }

    /** Waits until {@code s}, following its files, proves {@code prove} and accepts exactly {@code accept}. */
    private static void awaitReload(ClusterSecret s, String prove, String... accept) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!(proves(s, prove) && List.of(OLD, NEW, THIRD).stream()
                .allMatch(x -> accepts(s, x) == List.of(accept).contains(x)))) {
            assertTrue(System.nanoTime() < deadline, "the secret's files were not read again in 10 s");
            Thread.sleep(20);
        }
    }

    private static NodeOptions.Builder node(Master m, String name, ClusterSecret secret) {
        return NodeOptions.builder().master(m.address()).name(name).clusterSecret(secret)
                .joinTimeout(Duration.ofSeconds(5)).defaultTimeout(Duration.ofSeconds(10));
    }

    private static Node echoNode(Master m, String service, ClusterSecret secret) {
        Node n = Node.join(node(m, service, secret).build());
        n.newServer(service).inline(0, call -> call.reply(call.request().buffer())).start();
        return n;
    }

    private static void call(Node from, String service, int value) throws Exception {
        Client c = from.client(service);
        c.awaitServers(1, Duration.ofSeconds(5));
        assertArrayEquals(new byte[] {(byte) value}, c.call(0, new byte[] {(byte) value}), from + " -> " + service);
    }

    private final AtomicInteger fresh = new AtomicInteger();

    /**
     * A new node with {@code secret} joins the master and calls, and is called by, each of {@code members} over new
     * connections (each serving the service named as its node): every handshake of the pairs is made now.
     */
    private void freshNodeTalksTo(Master m, ClusterSecret secret, Node... members) throws Exception {
        String service = "fresh-" + fresh.incrementAndGet();
        try (Node x = echoNode(m, service, secret)) {
            for (Node member : members) {
                call(x, member.options().name(), 1);
                call(member, service, 2);
            }
        }
    }

    /**
     * A master and node A follow their files (rewritten, never restarted); node B restarts into each step with fixed
     * secrets; a new node in each step's configuration joins and calls everyone at every stage, including while the
     * processes are split between two neighbouring steps. Calls between A and B go on throughout.
     */
    @Test
    void aRollingRotationKeepsEveryProcessTalkingThroughTheThreeSteps(@TempDir Path dir) throws Exception {
        Path mProve = write(dir.resolve("master.secret"), OLD);
        Path mAccept = write(dir.resolve("master.accept"), OLD);
        Path aProve = write(dir.resolve("a.secret"), OLD);
        Path aAccept = write(dir.resolve("a.accept"), OLD);
        ClusterSecret mSecret = ClusterSecret.fromFiles(mProve, mAccept, FAST);
        ClusterSecret aSecret = ClusterSecret.fromFiles(aProve, aAccept, FAST);
        ClusterSecret stepA = secret(OLD).alsoAccepting(secret(NEW));
        ClusterSecret stepB = secret(NEW).alsoAccepting(secret(OLD));
        try (Master m = Master.start(MasterOptions.builder().port(0).clusterSecret(mSecret).build());
             Node a = echoNode(m, "a", aSecret)) {
            Node b = echoNode(m, "b", secret(OLD));
            try {
                call(a, "b", 0);

                // (a), A by its file: proves OLD, accepts OLD and NEW. The others still on OLD alone talk to it.
                write(aAccept, NEW);
                awaitReload(aSecret, OLD, OLD, NEW);
                freshNodeTalksTo(m, secret(OLD), a, b);
                // (a), B by a restart; the master by its file. Everyone is in step (a).
                b.close();
                b = echoNode(m, "b", stepA);
                call(a, "b", 3);
                write(mAccept, NEW);
                awaitReload(mSecret, OLD, OLD, NEW);
                freshNodeTalksTo(m, stepA, a, b);

                // (b), A by its file (both files rewritten): proves NEW, accepts NEW and OLD. A mix of (a) and (b).
                write(aProve, NEW);
                write(aAccept, OLD);
                awaitReload(aSecret, NEW, OLD, NEW);
                freshNodeTalksTo(m, stepA, a, b);
                freshNodeTalksTo(m, stepB, a, b);
                call(a, "b", 4);
                // (b), B by a restart, the master by its files. Everyone is in step (b).
                b.close();
                b = echoNode(m, "b", stepB);
                call(a, "b", 5);
                write(mProve, NEW);
                write(mAccept, OLD);
                awaitReload(mSecret, NEW, OLD, NEW);
                freshNodeTalksTo(m, stepB, a, b);
                freshNodeTalksTo(m, stepA, a, b);

                // (c), A by its file (the accepted file holds NEW too): NEW only. A mix of (b) and (c).
                write(aAccept, NEW);
                awaitReload(aSecret, NEW, NEW);
                freshNodeTalksTo(m, secret(NEW), a, b);
                freshNodeTalksTo(m, stepB, a, b);
                // (c), the master by its file, B by a restart. OLD is refused everywhere now.
                write(mAccept, NEW);
                awaitReload(mSecret, NEW, NEW);
                b.close();
                b = echoNode(m, "b", secret(NEW));
                call(a, "b", 6);
                freshNodeTalksTo(m, secret(NEW), a, b);
                BatonException e = assertThrows(BatonException.class,
                        () -> Node.join(node(m, "stale", secret(OLD)).build()));
                assertEquals(Status.Code.UNAUTHENTICATED, e.code());
                assertTrue(m.membership().nodes().stream().noneMatch(n -> n.name().equals("stale")));
            } finally {
                b.close();
            }
        }
    }

    /**
     * A process that accepts neither of the master's secrets, or that skipped step (a) (proves and accepts OLD alone
     * while the master proves NEW), is refused with the UNAUTHENTICATED of a wrong secret.
     */
    @Test
    void aProcessOutsideTheRotationIsRefusedAsBefore() throws Exception {
        try (Master m = Master.start(MasterOptions.builder().port(0)
                .clusterSecret(secret(NEW).alsoAccepting(secret(OLD))).build())) {
            BatonException e = assertThrows(BatonException.class,
                    () -> Node.join(node(m, "stranger", secret(THIRD)).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("did not prove the cluster secret (its proof is wrong"), e.getMessage());
            e = assertThrows(BatonException.class, () -> Node.join(node(m, "skipped", secret(OLD)).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            assertTrue(e.getMessage().contains("did not prove the cluster secret (its proof is wrong"), e.getMessage());
            assertEquals(0, m.membership().nodes().size());
            try (Node n = Node.join(node(m, "member", secret(OLD).alsoAccepting(secret(NEW))).build())) {
                assertEquals(1, m.membership().nodes().size(), "a process in step (a) joins one in step (b)");
            }
        }
    }

    @Test
    void verificationAcceptsExactlyTheAcceptedSecretsAndProvesTheFirst() {
        ClusterSecret rotating = secret(OLD).alsoAccepting(secret(NEW));
        assertTrue(proves(rotating, OLD));
        assertTrue(accepts(rotating, OLD));
        assertTrue(accepts(rotating, NEW));
        assertFalse(accepts(rotating, THIRD), "a secret outside the set proves nothing");
        assertFalse(rotating.verifies(proofBy(secret(NEW)), false, A, B, NA, NB), "still bound to the prover's side");
        assertFalse(rotating.verifies(new byte[32], true, A, B, NA, NB));
        assertTrue(proves(secret(NEW).alsoAccepting(secret(OLD)), NEW));
        assertFalse(accepts(secret(OLD), NEW), "neither secret changed");
        assertEquals("ClusterSecret[hidden]", rotating.toString());
    }

    @Test
    void atMostFourSecretsAreAccepted(@TempDir Path dir) throws IOException {
        ClusterSecret four = secret(OLD).alsoAccepting(secret(NEW)).alsoAccepting(secret(THIRD))
                .alsoAccepting(secret("a fourth secret of thirty-two b!"));
        assertTrue(accepts(four, THIRD));
        assertTrue(proves(four.alsoAccepting(secret(NEW)), OLD), "a secret given twice counts once");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> four.alsoAccepting(secret("a fifth secret, thirty-two bytes")));
        assertTrue(e.getMessage().contains("at most " + ClusterSecret.MAX_ACCEPTED + " secrets"), e.getMessage());
        ClusterSecret followed = ClusterSecret.fromFiles(write(dir.resolve("s"), OLD), null, FAST);
        e = assertThrows(IllegalArgumentException.class, () -> followed.alsoAccepting(secret(NEW)));
        assertTrue(e.getMessage().contains("fromFiles"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> secret(NEW).alsoAccepting(followed));
    }

    @Test
    void theOptionsFollowTheFilesAndRefuseAnAcceptedFileAlone(@TempDir Path dir) throws IOException {
        Path prove = write(dir.resolve("s"), OLD);
        Path accept = write(dir.resolve("accept"), NEW);
        ClusterSecret s = MasterOptions.builder().acceptedClusterSecretFile(accept).clusterSecretFile(prove).build()
                .clusterSecret();
        assertTrue(proves(s, OLD) && accepts(s, NEW) && !accepts(s, THIRD));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NodeOptions.builder().master("127.0.0.1:1").acceptedClusterSecretFile(accept).build());
        assertTrue(e.getMessage().contains("acceptedClusterSecretFile"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MasterOptions.builder().acceptedClusterSecretFile(accept)
                .build());
        Path open = write(dir.resolve("open"), NEW, "rw-r--r--");
        e = assertThrows(IllegalArgumentException.class, () -> NodeOptions.builder().acceptedClusterSecretFile(open));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        assertTrue(proves(NodeOptions.builder().master("127.0.0.1:1").clusterSecretFile(prove)
                .clusterSecret(secret(THIRD)).build().clusterSecret(), THIRD), "the last one set wins");
    }

    /** Two files rewritten one after the other within a reload interval are taken together, never half-way. */
    @Test
    void filesWrittenOneAfterTheOtherAreTakenTogether(@TempDir Path dir) throws Exception {
        Path prove = write(dir.resolve("s"), OLD);
        Path accept = write(dir.resolve("accept"), NEW);
        ClusterSecret s = ClusterSecret.fromFiles(prove, accept, Duration.ofMillis(400));
        Thread.sleep(450);                          // the files are old, and a check is due
        write(prove, NEW);
        assertTrue(proves(s, OLD) && accepts(s, OLD), "NEW/NEW, the state between the writes, is never used");
        write(accept, OLD);
        awaitReload(s, NEW, NEW, OLD);
    }

    /**
     * A file rewritten with something unusable keeps the secrets in force, for every handshake after it, with one
     * warning for that state of the files; once fixed, the new secret is used.
     */
    @Test
    void aBadFileOnReloadKeepsTheSecretAndWarnsOnce(@TempDir Path dir) throws Exception {
        Path file = write(dir.resolve("master.secret"), OLD);
        ClusterSecret s = ClusterSecret.fromFiles(file, null, Duration.ZERO);
        try (LogCapture warnings = LogCapture.start(ClusterSecret.class.getName(), LogCapture.warningsAndAbove());
             Master m = Master.start(MasterOptions.builder().port(0).clusterSecret(s).build())) {
            write(file, "too short");
            for (int i = 0; i < 3; i++) {
                try (Node n = Node.join(node(m, "n" + i, secret(OLD)).build())) {
                    assertTrue(n.rank() >= 0, "joined with OLD, the secret still in force");
                }
            }
            assertEquals(1, warnings.records().size(), "one warning for the bad file, not one per handshake: " + warnings);
            assertTrue(warnings.messages().getFirst().contains("cannot be used"), warnings.toString());
            write(file, NEW, "rw-r--r--");          // another bad state: warned once more
            assertTrue(proves(s, OLD) && proves(s, OLD), "each call looked at the file: still OLD");
            assertEquals(2, warnings.records().size(), warnings.toString());
            write(file, NEW);
            assertTrue(proves(s, NEW));
            BatonException e = assertThrows(BatonException.class,
                    () -> Node.join(node(m, "old", secret(OLD)).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.code());
            try (Node n = Node.join(node(m, "new", secret(NEW)).build())) {
                assertTrue(n.rank() >= 0);
            }
            assertEquals(2, warnings.records().size(), warnings.toString());
        }
    }
}
