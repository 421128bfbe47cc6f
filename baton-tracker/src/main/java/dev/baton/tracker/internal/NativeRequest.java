package dev.baton.tracker.internal;

import dev.baton.ServerCall;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A REQUEST call of the {@code baton.tracker} service waiting for a server. Its {@link #answer} is the async
 * handler's stage: completing it sends the response. Owned by the loop thread (the call object stays this
 * request's until the stage completes, so the loop may ask it {@link ServerCall#isCancelled()}).
 */
final class NativeRequest {
    final ServerCall call;
    final CompletableFuture<ByteBuffer> answer;
    final int rank;
    final long limitMs;
    Waiter waiter;

    NativeRequest(ServerCall call, CompletableFuture<ByteBuffer> answer, int rank, long limitMs) {
        this.call = call;
        this.answer = answer;
        this.rank = rank;
        this.limitMs = limitMs;
    }
}
