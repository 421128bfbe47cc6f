package dev.baton.shm;

import dev.baton.Client;
import dev.baton.Master;
import dev.baton.MasterOptions;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.SharedMemory;
import dev.baton.TlsOptions;
import dev.baton.testkit.behaviour.Cluster;
import dev.baton.testkit.tls.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.security.auth.x500.X500Principal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * Nodes with TLS on one host: their calls to each other go through shared memory (the peer proved by the kernel as
 * this user), and TLS carries everything else (the master, nodes that do not share memory).
 */
@Timeout(90)
class ShmTlsTest {

    private final TestPki pki = TestPki.create();
    private final TestPki.Ca ca = pki.ca("cluster-ca");
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        pki.close();
    }

    private Master master() {
        Master m = Master.start(MasterOptions.builder().tls(pki.options(pki.issue(ca, "master"), ca)).build());
        open.add(m);
        return m;
    }

    private Node join(Master m, String name, SharedMemory mode) {
        TlsOptions tls = pki.options(pki.issue(ca, name), ca);
        Node n = Node.join(NodeOptions.builder().master(m.address()).name(name).tls(tls).sharedMemory(mode)
                .joinTimeout(Duration.ofSeconds(5)).build());
        open.add(n);
        return n;
    }

    /** An echo server on {@code node} that records who called it. */
    private AtomicReference<Principal> echoRecordingCaller(Node node) {
        AtomicReference<Principal> caller = new AtomicReference<>();
        open.add(node.newServer("echo").inline(Cluster.ECHO, call -> {
            caller.set(call.caller().principal());
            call.reply(call.request().buffer());
        }).start());
        return caller;
    }

    private static void echoes(Client client) throws InterruptedException {
        client.awaitServers(1, Duration.ofSeconds(10));
        Random random = new Random(1);
        for (int size : new int[] {5, 1 << 20}) {
            byte[] bytes = new byte[size];
            random.nextBytes(bytes);
            assertArrayEquals(bytes, client.call(Cluster.ECHO, bytes), size + " bytes");
        }
    }

    @Test
    void tlsNodesOnOneHostCallEachOtherThroughSharedMemory() throws Exception {
        Master m = master();
        Node a = join(m, "node-a", SharedMemory.PREFERRED);
        Node b = join(m, "node-b", SharedMemory.PREFERRED);
        AtomicReference<Principal> caller = echoRecordingCaller(a);
        echoes(b.client("echo"));
        assertEquals(Map.of(a.rank(), "shm"), b.stats().pathsByRank());
        UserPrincipal me = Files.getOwner(Path.of("/proc/self"));
        assertInstanceOf(UserPrincipal.class, caller.get(), "over shared memory the kernel proves the user");
        assertEquals(me.getName(), caller.get().getName());
        // The master is still reached over TLS: a coordination round trip works.
        b.coordination().put("k", new byte[] {1});
        assertArrayEquals(new byte[] {1}, a.coordination().get("k").orElseThrow());
    }

    @Test
    void aTlsNodeWithoutSharedMemoryIsCalledOverTlsWithItsCertificate() throws Exception {
        Master m = master();
        Node a = join(m, "node-a", SharedMemory.PREFERRED);
        Node b = join(m, "node-b", SharedMemory.DISABLED);
        AtomicReference<Principal> caller = echoRecordingCaller(a);
        echoes(b.client("echo"));
        assertEquals(Map.of(a.rank(), "tls"), b.stats().pathsByRank());
        assertInstanceOf(X500Principal.class, caller.get());
        assertEquals("CN=node-b", caller.get().getName());
    }

    @Test
    void requiredSharedMemoryWorksUnderTls() throws Exception {
        Master m = master();
        Node a = join(m, "node-a", SharedMemory.REQUIRED);
        Node b = join(m, "node-b", SharedMemory.REQUIRED);
        echoRecordingCaller(a);
        echoes(b.client("echo"));
        assertEquals(Map.of(a.rank(), "shm"), b.stats().pathsByRank());
    }
}
