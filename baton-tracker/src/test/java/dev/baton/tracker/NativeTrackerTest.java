package dev.baton.tracker;

import dev.baton.BatonException;
import dev.baton.CallOptions;
import dev.baton.Client;
import dev.baton.Message;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.Server;
import dev.baton.Status;
import dev.baton.tracker.internal.NativeWire;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Baton's native tracker protocol, with a real master and real nodes on loopback: registrations, leases by
 * priority, limits, liveness through the membership, and the separation from TVM's servers.
 */
@Timeout(60)
class NativeTrackerTest {

    private static final Duration LONG = Duration.ofSeconds(20);
    private static final Duration MINUTE = Duration.ofMinutes(1);

    private final List<AutoCloseable> open = new ArrayList<>();
    private Master master;
    private Tracker tracker;
    private Node trackerNode;
    private Node clients;

    @BeforeEach
    void start() {
        master = track(Master.start(new InetSocketAddress("127.0.0.1", 0)));
        tracker = track(Tracker.start(TrackerOptions.builder().port(0).build()));
        trackerNode = track(join("baton-tracker"));
        track(TrackerService.serve(trackerNode, tracker));
        clients = track(join("clients"));
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
        TrackerTests.assertNoTrackerThreads();
    }

    private <T extends AutoCloseable> T track(T c) {
        open.add(c);
        return c;
    }

    private Node join(String name) {
        return Node.join(NodeOptions.builder().master(master.address()).name(name).build());
    }

    /** A node with one server of "board" that answers with its node's rank. */
    private Server board(TrackerGuard guard) {
        Node n = track(join("board"));
        Server.Builder b = n.newServer("board");
        if (guard != null) {
            b.intercept(guard);
        }
        int rank = n.rank();
        return b.inline(0, call -> call.reply(ByteBuffer.allocate(4).putInt(0, rank))).start();
    }

    private TrackerSummary summary() {
        return tracker.summary();
    }

    private static int callRank(TrackerLease lease) {
        return ByteBuffer.wrap(lease.client().call(0, new byte[0])).getInt();
    }

    @Test
    void grantsWaitingRequestsByPriorityThenArrival() throws Exception {
        track(TrackerLeases.register(board(null), "k"));
        track(TrackerLeases.register(board(null), "k"));
        List<TrackerLease> held = new ArrayList<>(List.of(
                TrackerLeases.lease(clients, "k", 0, LONG, MINUTE), TrackerLeases.lease(clients, "k", 0, LONG, MINUTE)));
        int[] priorities = {1, 2, 1, 3};
        List<CompletableFuture<TrackerLease>> waiting = new ArrayList<>();
        for (int i = 0; i < priorities.length; i++) {
            int priority = priorities[i];
            CompletableFuture<TrackerLease> f = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    f.complete(TrackerLeases.lease(clients, "k", priority, LONG, MINUTE));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
            waiting.add(f);
            int pending = i + 1;   // each request reaches the tracker before the next is made: arrival order is known
            TrackerTests.await(() -> summary().batonQueues().get("k").pending() == pending, () -> "pending " + summary());
        }
        List<Integer> grantedPriorities = new ArrayList<>();
        List<Integer> grantedIndexes = new ArrayList<>();
        for (int round = 0; round < priorities.length; round++) {
            held.removeFirst().close();   // frees one server: exactly one waiting request gets it
            TrackerTests.await(() -> waiting.stream().filter(CompletableFuture::isDone).count()
                    > grantedIndexes.size(), () -> "a grant after a release");
            for (int i = 0; i < waiting.size(); i++) {
                if (waiting.get(i).isDone() && !grantedIndexes.contains(i)) {
                    grantedIndexes.add(i);
                    grantedPriorities.add(priorities[i]);
                    held.add(track(waiting.get(i).get()));
                }
            }
            assertEquals(round + 1, grantedIndexes.size(), "one grant per release");
        }
        assertEquals(List.of(3, 2, 1, 1), grantedPriorities);
        assertEquals(List.of(3, 1, 0, 2), grantedIndexes);
    }

    @Test
    void aLeaseEndsAtItsLimitAndTheGuardedServerRefusesTheExHolder() {
        TrackerGuard guard = TrackerGuard.create();
        Server server = board(guard);
        track(TrackerLeases.register(server, "k", guard));
        Node other = track(join("other"));

        TrackerLease lease = track(TrackerLeases.lease(clients, "k", 1, LONG, Duration.ofMillis(500)));
        assertEquals(server.node().rank(), callRank(lease), "the holder is served");
        BatonException stranger = assertThrows(BatonException.class,
                () -> other.client("board").call(0, new byte[0]));
        assertEquals(Status.Code.PERMISSION_DENIED, stranger.status().code(), stranger.toString());

        TrackerTests.await(() -> summary().batonQueues().get("k").free() == 1, () -> "free again: " + summary());
        TrackerTests.await(() -> System.currentTimeMillis() >= lease.expiresAt().toEpochMilli(), () -> "wall clock");
        BatonException late = assertThrows(BatonException.class, () -> callRank(lease));
        assertEquals(Status.Code.PERMISSION_DENIED, late.status().code(), late.toString());
        assertTrue(late.status().description().contains("ended"), late.toString());

        try (TrackerLease next = TrackerLeases.lease(other, "k", 1, LONG, MINUTE)) {
            assertEquals(server.node().rank(), callRank(next), "the next holder is served");
        }
    }

    @Test
    void closingALeaseReturnsItsServerAndItsClientRefusesCalls() {
        track(TrackerLeases.register(board(null), "k"));
        TrackerLease lease = TrackerLeases.lease(clients, "k", 1, LONG, MINUTE);
        assertEquals(0, summary().batonQueues().get("k").free());
        assertEquals(clients.rank(), summary().batonServers().getFirst().leasedTo());
        lease.close();
        assertEquals(1, summary().batonQueues().get("k").free(), "released at once");
        assertEquals(Status.Code.CLOSED, assertThrows(BatonException.class, () -> callRank(lease)).status().code());
        try (TrackerLease again = TrackerLeases.lease(clients, "k", 1, Duration.ofSeconds(1), MINUTE)) {
            assertTrue(again.id() != lease.id());
        }
    }

    @Test
    void theHolderNodeLeavingReturnsTheServer() {
        track(TrackerLeases.register(board(null), "k"));
        Node holder = join("holder");
        try {
            TrackerLeases.lease(holder, "k", 1, LONG, MINUTE);
            assertEquals(0, summary().batonQueues().get("k").free());
        } finally {
            holder.close();
        }
        TrackerTests.await(() -> summary().batonQueues().get("k").free() == 1, () -> "returned: " + summary());
    }

    @Test
    void aServerThatClosesOrWhoseNodeClosesLeavesTheSummaryAtOnce() {
        Server closing = board(null);
        Server leaving = board(null);
        track(TrackerLeases.register(closing, "k"));
        track(TrackerLeases.register(leaving, "k"));
        assertEquals(2, summary().batonServers().size());
        closing.close();
        TrackerTests.await(Duration.ofSeconds(5), () -> summary().batonServers().size() == 1, () -> "" + summary());
        leaving.node().close();
        TrackerTests.await(Duration.ofSeconds(5), () -> summary().batonServers().isEmpty()
                && summary().batonQueues().isEmpty(), () -> "" + summary());
    }

    @Test
    void aRequestWithNoServerFailsWithDeadlineExceededWithinItsWait() {
        long start = System.nanoTime();
        BatonException e = assertThrows(BatonException.class,
                () -> TrackerLeases.lease(clients, "none", 1, Duration.ofMillis(300), MINUTE));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.status().code(), e.toString());
        assertTrue(tookMs >= 250 && tookMs < 2_300, "took " + tookMs + " ms");
        TrackerTests.await(Duration.ofSeconds(2), () -> summary().batonQueues().isEmpty(), () -> "" + summary());
    }

    @Test
    void aRequesterWhoseNodeClosesWhileWaitingLeavesNoPendingEntry() throws Exception {
        Node requester = join("requester");
        CompletableFuture<TrackerLease> f = new CompletableFuture<>();
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                f.complete(TrackerLeases.lease(requester, "k", 1, LONG, MINUTE));
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        });
        TrackerTests.await(() -> summary().batonQueues().containsKey("k"), () -> "waiting: " + summary());
        requester.close();
        TrackerTests.await(Duration.ofSeconds(5), () -> summary().batonQueues().isEmpty(), () -> "" + summary());
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(LONG.toSeconds(), TimeUnit.SECONDS));
        assertInstanceOf(BatonException.class, e.getCause());
        t.join();
        // A server registered now is free: nobody is waiting for it.
        track(TrackerLeases.register(board(null), "k"));
        assertEquals(1, summary().batonQueues().get("k").free());
    }

    @Test
    void tvmAndBatonServersAreNeverHandedToTheOtherKind() {
        track(TrackerLeases.register(board(null), "baton-only"));
        TrackerClient tvm = TrackerClient.of(tracker.address());
        BatonException e = assertThrows(BatonException.class,
                () -> tvm.request("baton-only", 1, Duration.ofMillis(300)));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, e.status().code());

        track(tvm.register("tvm-only", 9999, null));
        TrackerTests.await(() -> summary().queue("tvm-only").free() == 1, () -> "" + summary());
        BatonException b = assertThrows(BatonException.class,
                () -> TrackerLeases.lease(clients, "tvm-only", 1, Duration.ofMillis(300), MINUTE));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, b.status().code());
        assertEquals(1, summary().batonQueues().get("baton-only").free(), "the Baton server was not taken");
    }

    @Test
    void theSummaryShowsBothKindsOverBothProtocols() {
        Server server = board(null);
        track(TrackerLeases.register(server, "gpu"));
        TrackerLease lease = track(TrackerLeases.lease(clients, "gpu", 1, LONG, MINUTE));

        TrackerSummary viaTvm = TrackerClient.of(tracker.address()).summary();
        TrackerSummary viaBaton = TrackerLeases.summary(clients, Duration.ofSeconds(5));
        for (TrackerSummary s : List.of(viaTvm, viaBaton)) {
            assertEquals(List.of(new TrackerSummary.BatonServer("gpu", "board", server.serverId(),
                    server.node().rank(), clients.rank())), s.batonServers());
            assertEquals(new TrackerSummary.Queue(0, 0), s.batonQueues().get("gpu"));
            assertTrue(s.servers().isEmpty());
        }
        assertEquals(1, viaTvm.toJson().getAsJsonObject("baton").getAsJsonObject("queue_info")
                .getAsJsonObject("gpu").get("total").getAsInt());
        String text = viaTvm.toText();
        assertTrue(text.contains("Baton Server List") && text.contains("Baton Queue Status"), text);
        assertEquals(viaTvm, TrackerSummary.fromJson(viaTvm.toJson()));
        lease.close();
    }

    @Test
    void refusesBadArgumentsBeforeSendingAndASecondRegistration() {
        Server server = board(null);
        assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                () -> TrackerLeases.register(server, "")).status().code());
        assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                () -> TrackerLeases.lease(clients, "k", 1, Duration.ZERO, MINUTE)).status().code());
        assertEquals(Status.Code.INVALID_ARGUMENT, assertThrows(BatonException.class,
                () -> TrackerLeases.lease(clients, "k", 1, LONG, Duration.ofDays(8))).status().code());
        track(TrackerLeases.register(server, "k"));
        assertEquals(Status.Code.ALREADY_EXISTS, assertThrows(BatonException.class,
                () -> TrackerLeases.register(server, "k2")).status().code());
        assertFalse(summary().batonQueues().containsKey("k2"));
        assertEquals(1, summary().batonServers().size());

        ByteBuffer notMine = new NativeWire.Writer().string("k3").string("board").i32(server.serverId())
                .bytes(new byte[0]).done();
        BatonException e = assertThrows(BatonException.class, () -> clients.client(TrackerService.SERVICE)
                .call(NativeWire.REGISTER, notMine, CallOptions.DEFAULT.withTimeout(LONG)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.status().code(), e.toString());
    }

    @Test
    void aCancelledRequestCallLeavesNoWaitingEntry() {
        ByteBuffer request = new NativeWire.Writer().string("k").i32(1).i64(60_000).done();
        Client raw = clients.client(TrackerService.SERVICE);
        CompletableFuture<Message> call = raw.callAsync(NativeWire.REQUEST, request,
                CallOptions.DEFAULT.withTimeout(LONG));
        TrackerTests.await(() -> summary().batonQueues().containsKey("k"), () -> "waiting: " + summary());
        assertTrue(call.cancel(true));
        TrackerTests.await(Duration.ofSeconds(2), () -> summary().batonQueues().isEmpty(), () -> "" + summary());
        track(TrackerLeases.register(board(null), "k"));
        assertEquals(1, summary().batonQueues().get("k").free(), "nobody was waiting for it");
    }
}
