package dev.baton;

import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * prpc's pull-style server side, for users who own their threads: requests for methods that have no
 * registered handler queue up at the {@link Server} and any of its dealers takes them with
 * {@link #recvRequest}. Several dealers (one per thread, typically) share the server's queue. A server built
 * with no handler at all queues every request; one that has handlers queues the others only when
 * {@link Server.Builder#dealerQueueCapacity} was set (otherwise they fail with NO_SUCH_METHOD).
 *
 * <p>Thread-safe. The queue is bounded ({@link Server.Builder#dealerQueueCapacity}); when it is full, new
 * requests are refused with {@link Status.Code#RESOURCE_EXHAUSTED}.
 */
public interface Dealer {

    /**
     * Takes the next request, waiting up to {@code timeout}. Returns null on timeout, or once the server is
     * closed and its queue empty.
     */
    ServerCall recvRequest(Duration timeout) throws InterruptedException;

    /** Same as {@code call.reply(response)}, as prpc spells it. */
    default void sendResponse(ServerCall call, ByteBuffer response) {
        call.reply(response);
    }

    /** The server whose queue this dealer reads. */
    Server server();
}
