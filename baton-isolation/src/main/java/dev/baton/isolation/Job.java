package dev.baton.isolation;

import dev.baton.Metadata;
import dev.baton.ServerCall;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;

/**
 * One call for a worker: from a server ({@link CallJob}) or {@link WorkerPool#submit} ({@link FutureJob}), with
 * what the pool needs to send it (request, method, handler index, metadata, deadline) and to answer it, once.
 *
 * <p>Threading: the request fields are final. {@link #callId}, {@link #worker} and {@link #done} are guarded by the
 * pool's lock ({@link PoolState}'s monitor); whoever sets {@code done} under it answers the call, after releasing
 * it. {@link #expiry} is set once by the submitting thread, before the call can be answered.
 */
abstract class Job {
    final ByteBuffer request;
    final int method;
    final int handler;
    final Metadata metadata;
    final long deadline;
    long callId;                    // guarded by the pool's lock
    Worker worker;                  // guarded by the pool's lock
    boolean done;                   // guarded by the pool's lock: answered, or about to be, by whoever set it
    volatile ScheduledFuture<?> expiry;

    Job(ByteBuffer request, int method, int handler, Metadata metadata, long deadline) {
        this.request = request;
        this.method = method;
        this.handler = handler;
        this.metadata = metadata;
        this.deadline = deadline;
    }

    void cancelExpiry() {
        ScheduledFuture<?> e = expiry;
        if (e != null) {
            e.cancel(false);
        }
    }

    abstract boolean isCancelled();

    /** Answers with {@code response}, or {@code failure} ({@code refused}: known not to have run). Once. */
    abstract void answer(ByteBuffer response, Status failure, boolean refused);

    /** A call a server gave to {@link WorkerPool#handler}: answered through its {@link ServerCall}. */
    static final class CallJob extends Job {
        private final ServerCall call;
        private final CompletableFuture<ByteBuffer> stage;

        CallJob(ServerCall call, int handler, CompletableFuture<ByteBuffer> stage, long deadline) {
            super(call.request().buffer(), call.method(), handler, call.metadata(), deadline);
            this.call = call;
            this.stage = stage;
        }

        @Override
        boolean isCancelled() {
            return call.isCancelled();
        }

        @Override
        void answer(ByteBuffer response, Status failure, boolean refused) {
            try {
                if (failure == null) {
                    call.reply(response);
                } else if (refused) {
                    call.refuse(failure);
                } else {
                    call.fail(failure);
                }
            } finally {
                stage.complete(null);   // answered already: the server sends nothing more
            }
        }
    }

    /** A call from {@link WorkerPool#submit}: answered by completing its future. */
    static final class FutureJob extends Job {
        private final CompletableFuture<ByteBuffer> result;

        FutureJob(ByteBuffer request, int handler, long deadline, CompletableFuture<ByteBuffer> result) {
            super(request, -1, handler, Metadata.EMPTY, deadline);
            this.result = result;
        }

        @Override
        boolean isCancelled() {
            return result.isCancelled();
        }

        @Override
        void answer(ByteBuffer response, Status failure, boolean refused) {
            if (failure == null) {
                result.complete(response);
            } else {
                result.completeExceptionally((refused ? failure.withRetrySafe(true) : failure).asException());
            }
        }
    }
}
