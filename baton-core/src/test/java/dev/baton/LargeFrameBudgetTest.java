package dev.baton;

import dev.baton.internal.tcp.TcpTransport;
import dev.baton.spi.FrameType;
import dev.baton.spi.Transport;
import dev.baton.spi.TransportContext;
import dev.baton.spi.connection.FrameLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Large frames and the receive budget, on a node whose budget is 1 MiB: a frame that waits for budget while
 * another holds it keeps its connection as long as it needs (its sender is ahead of us), and one that trickles
 * is closed as stalled whether it holds budget or waits for it.
 */
@Timeout(60)
class LargeFrameBudgetTest {

    private static final int BUDGET = 1 << 20;
    /** Longer than the keepalive timeout (5 s) and the stall window (5 s). */
    private static final Duration HOLD = Duration.ofSeconds(7);

    @Test
    void aFrameWaitingForBudgetOutlivesTheKeepaliveTimeoutWhileATrickledOneIsClosed() throws Exception {
        try (Cluster c = new Cluster()) {
            Node server = c.join(c.options("server").transport(LargeFrameBudgetTest::smallBudget).build());
            Cluster.startEcho(server, "echo");
            Client echo = c.join("caller").client("echo")
                    .withOptions(CallOptions.DEFAULT.withTimeout(Duration.ofSeconds(30)));
            echo.awaitServers(1, Duration.ofSeconds(5));
            try (RawPeer holder = new RawPeer(server.address());
                 RawPeer trickler = new RawPeer(server.address())) {
                holder.handshake();
                trickler.handshake();
                // The holder takes the whole budget and keeps its frame progressing (32 KiB a second): it is not
                // stalled, so the budget stays taken for as long as it sends.
                holder.send(header(BUDGET));
                holder.flush();
                Wait.until(() -> server.stats().receiveBytesReserved() == BUDGET, Duration.ofSeconds(5));
                // The trickler's frame waits for budget and gains 100 bytes a second.
                trickler.send(header(BUDGET / 2));
                trickler.flush();

                byte[] request = new byte[256 * 1024];
                new Random(1).nextBytes(request);
                var call = echo.callAsync(Cluster.ECHO, request);
                long start = System.nanoTime();
                boolean tricklerClosed = false;
                while (System.nanoTime() - start < HOLD.toNanos()) {
                    holder.send(new byte[32 * 1024]);
                    holder.flush();
                    tricklerClosed = tricklerClosed || closedByNode(trickler);
                    if (!tricklerClosed) {
                        trickler.send(new byte[100]);
                        trickler.flush();
                    }
                    Thread.sleep(1000);     // the senders' pace, not a wait for a condition
                }
                assertTrue(tricklerClosed, "a frame that waited for budget and trickled was not closed as stalled");
                assertFalse(call.isDone(), "the call ended while the budget was taken: " + call);
                holder.socket.close();      // its frame ends unfinished: the budget is free
                try (Message answer = call.get(10, TimeUnit.SECONDS)) {
                    byte[] echoed = new byte[answer.buffer().remaining()];
                    answer.buffer().get(echoed);
                    assertArrayEquals(request, echoed, "the echo of a call that waited for budget for 7 s");
                }
            }
        }
    }

    private static Transport smallBudget(TransportContext context) {
        return TcpTransport.factory().create(new TransportContext(context.name(), context.nodeId(), context.role(),
                context.rank(), context.handler(), context.settings().toBuilder().receiveBudgetBytes(BUDGET).build()));
    }

    /** The header of a REQUEST declaring {@code length} payload bytes. */
    private static byte[] header(int length) {
        ByteBuffer b = ByteBuffer.allocate(FrameLayout.HEADER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        FrameLayout.putHeader(b, length, FrameType.REQUEST, 0, 0, 1, 1, -1, 0, 0);
        return b.array();
    }

    /** True if the node closed {@code peer}'s connection (reads what the node sent, without blocking long). */
    private static boolean closedByNode(RawPeer peer) throws IOException {
        peer.socket.setSoTimeout(1);
        try {
            var in = peer.socket.getInputStream();
            byte[] sink = new byte[4096];
            while (true) {
                if (in.read(sink) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;    // reset
        }
    }
}
