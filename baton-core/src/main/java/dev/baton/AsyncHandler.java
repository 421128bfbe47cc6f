package dev.baton;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * A handler that answers with a {@link CompletionStage}: it is invoked on the I/O thread (or, for a caller in
 * the same process, on the caller's thread), must return quickly, and the response is sent by whichever
 * thread completes the stage. A stage completed with an
 * exception fails the call with {@link Status.Code#HANDLER_FAILED} (or the {@link BatonException}'s status).
 */
@FunctionalInterface
public interface AsyncHandler {
    CompletionStage<ByteBuffer> handle(ServerCall call) throws Exception;
}
