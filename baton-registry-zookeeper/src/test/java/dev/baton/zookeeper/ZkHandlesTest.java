package dev.baton.zookeeper;

import org.apache.zookeeper.ZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * {@link ZkHandles} against a real server: every handle it made is closed with its threads, including one that
 * Curator asks for after the close (its session-reset race).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ZkHandlesTest {

    /** ZooKeeper names a handle's threads after the thread that makes it. */
    private static final String MAKER = "zk-handles-test-maker";

    private TestServers server;

    @BeforeEach
    void startServer() throws Exception {
        server = TestServers.standalone();
    }

    @AfterEach
    void stopServer() throws Exception {
        server.close();
    }

    @Test
    void closeAllClosesEveryHandleAndEndsItsThreads() throws Exception {
        ZkHandles handles = new ZkHandles();
        ZooKeeper first = make(handles);
        ZooKeeper second = make(handles);
        assertEquals(2, handleThreads().size() / 2, "each handle runs a send and an event thread");

        handles.closeAll();

        assertFalse(first.getState().isAlive());
        assertFalse(second.getState().isAlive());
        assertEquals(List.of(), handleThreads());
    }

    @Test
    void aHandleMadeAfterCloseAllIsClosedAtOnce() throws Exception {
        ZkHandles handles = new ZkHandles();
        handles.closeAll();

        ZooKeeper late = make(handles);

        assertFalse(late.getState().isAlive());
        assertEquals(List.of(), handleThreads());
    }

    private ZooKeeper make(ZkHandles handles) throws Exception {
        String connect = "127.0.0.1:" + server.ports().getFirst();
        CompletableFuture<ZooKeeper> made = new CompletableFuture<>();
        Thread maker = new Thread(() -> {
            try {
                made.complete(handles.newZooKeeper(connect, 2_000, event -> { }, false));
            } catch (Throwable e) {
                made.completeExceptionally(e);
            }
        }, MAKER);
        maker.start();
        maker.join(10_000);
        return made.get(10, TimeUnit.SECONDS);
    }

    private static List<String> handleThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(MAKER + "-"))
                .map(Thread::getName)
                .toList();
    }
}
