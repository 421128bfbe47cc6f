package dev.baton;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Authorization hooks with a real master and nodes: the master's authorizer refuses joins and registrations, a
 * node's refuses calls before interceptors and handler see them, and every refusal reaches the caller as
 * PERMISSION_DENIED with what was refused and why.
 */
@Timeout(60)
class AuthorizerTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.US_ASCII);

    @Test
    void theMasterRefusesAJoinItsAuthorizerDenies() throws Exception {
        Authorizer onlyWorkers = new Authorizer() {
            @Override
            public Decision authorizeJoin(Caller caller) {
                return caller.provedClusterSecret() ? Decision.ALLOW : Decision.deny("members prove the secret");
            }
        };
        try (Master m = Master.start(MasterOptions.builder().port(0).authorizer(onlyWorkers).build())) {
            BatonException e = assertThrows(BatonException.class, () -> Node.join(NodeOptions.builder()
                    .master(m.address()).joinTimeout(Duration.ofSeconds(5)).build()));
            assertEquals(Status.Code.PERMISSION_DENIED, e.code());
            assertTrue(e.getMessage().contains("may not join the cluster: members prove the secret"), e.getMessage());
            assertEquals(0, m.membership().nodes().size());
        }
        try (Master m = Master.start(MasterOptions.builder().port(0).authorizer(onlyWorkers).clusterSecret(SECRET)
                .build());
             Node n = Node.join(NodeOptions.builder().master(m.address()).clusterSecret(SECRET).build())) {
            assertEquals(0, n.rank(), "a node that proved the secret is let in");
        }
    }

    @Test
    void theMasterRefusesToRegisterAServiceItsAuthorizerDenies() throws Exception {
        Authorizer noBilling = new Authorizer() {
            @Override
            public Decision authorizeServe(Caller caller, String service) {
                return service.equals("billing") && caller.rank() != 0 ? Decision.deny("only rank 0 bills")
                        : Decision.ALLOW;
            }
        };
        try (Master m = Master.start(MasterOptions.builder().port(0).authorizer(noBilling).build());
             Node first = Node.join(NodeOptions.builder().master(m.address()).build());
             Node second = Node.join(NodeOptions.builder().master(m.address()).build())) {
            Cluster.startEcho(first, "billing");
            BatonException e = assertThrows(BatonException.class, () -> Cluster.startEcho(second, "billing"));
            assertEquals(Status.Code.PERMISSION_DENIED, e.code());
            assertTrue(e.getMessage().contains("rank 1") && e.getMessage().contains("may not serve 'billing': only rank 0 bills"),
                    e.getMessage());
            Cluster.startEcho(second, "echo");
            assertEquals(1, m.membership().servers("billing").size(), "billing on rank 0 only");
            assertEquals(0, m.membership().servers("billing").get(0).rank());
            assertEquals(1, m.membership().servers("echo").size());
        }
    }

    @Test
    void aNodeRefusesACallBeforeInterceptorsAndHandlerSeeIt() throws Exception {
        AtomicInteger intercepted = new AtomicInteger();
        AtomicInteger handled = new AtomicInteger();
        AtomicInteger asked = new AtomicInteger();
        Authorizer readOnly = new Authorizer() {
            @Override
            public Decision authorizeCall(Caller caller, String service, int method) {
                asked.incrementAndGet();
                return method == 0 ? Decision.ALLOW : Decision.deny("method " + method + " writes");
            }
        };
        try (Cluster c = new Cluster()) {
            Node server = c.join(c.options("server").authorizer(readOnly).serverInterceptor(call -> {
                intercepted.incrementAndGet();
                return null;
            }).build());
            Node caller = c.join("caller");
            server.newServer("kv").inline(0, call -> {
                handled.incrementAndGet();
                call.reply(call.request().buffer());
            }).inline(1, call -> {
                handled.incrementAndGet();
                call.reply(call.request().buffer());
            }).start();
            Client kv = caller.client("kv");
            kv.awaitServers(1, Duration.ofSeconds(5));
            assertArrayEquals(new byte[]{1}, kv.call(0, new byte[]{1}));
            assertEquals(1, intercepted.get());
            for (int i = 0; i < 3; i++) {
                BatonException e = assertThrows(BatonException.class, () -> kv.call(1, new byte[]{2}));
                assertEquals(Status.Code.PERMISSION_DENIED, e.code());
                assertTrue(e.getMessage().contains("rank " + caller.rank()) && e.getMessage().contains(
                        "may not call method 1 of 'kv': method 1 writes"), e.getMessage());
            }
            assertEquals(1, intercepted.get(), "refused calls never reach the interceptors");
            assertEquals(1, handled.get(), "nor the handler");
            assertEquals(4, asked.get(), "asked once per call, not retried elsewhere");
            // In process too: the node's own client is asked about, as itself.
            BatonException local = assertThrows(BatonException.class, () -> server.client("kv").call(1, new byte[]{3}));
            assertEquals(Status.Code.PERMISSION_DENIED, local.code());
            assertTrue(local.getMessage().contains("in process"), local.getMessage());
        }
    }

    @Test
    void anAuthorizerThatThrowsRefusesWithInternal() throws Exception {
        Authorizer broken = new Authorizer() {
            @Override
            public Decision authorizeCall(Caller caller, String service, int method) {
                throw new IllegalStateException("policy store down");
            }
        };
        try (Cluster c = new Cluster()) {
            Node server = c.join(c.options("server").authorizer(broken).build());
            Node caller = c.join("caller");
            Cluster.startEcho(server, "echo");
            Client echo = caller.client("echo");
            echo.awaitServers(1, Duration.ofSeconds(5));
            BatonException e = assertThrows(BatonException.class, () -> echo.call(0, new byte[]{1}));
            assertEquals(Status.Code.INTERNAL, e.code());
            assertTrue(e.getMessage().contains("policy store down"), e.getMessage());
        }
    }
}
