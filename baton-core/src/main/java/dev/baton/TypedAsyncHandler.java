package dev.baton;

import java.util.concurrent.CompletionStage;

/**
 * Handles the requests of one {@link MethodDescriptor typed method} with a {@link CompletionStage}: invoked on the
 * I/O thread (or, for a caller in the same process, on the caller's thread), it must return quickly; the response
 * is encoded and sent by whichever thread completes the stage. Registered with
 * {@link Server.Builder#async(MethodDescriptor, TypedAsyncHandler)}.
 *
 * <p>A stage completed with a {@link BatonException} fails the call with its status; any other exception (thrown,
 * or completing the stage) with HANDLER_FAILED. Do not answer the {@link ServerCall} yourself. A request that is a
 * lent {@link Message} ({@link Codecs#message()}) stays valid until the call is answered, that is until the stage
 * completes.
 *
 * @param <Req>  the request type
 * @param <Resp> the response type
 */
@FunctionalInterface
public interface TypedAsyncHandler<Req, Resp> {

    /** Starts serving {@code request}; the stage's value is the response. */
    CompletionStage<Resp> handle(Req request, ServerCall call) throws Exception;
}
