package dev.baton;

/**
 * Handles the requests of one {@link MethodDescriptor typed method}: gets the decoded request and returns the
 * response, which Baton encodes with the method's response codec and sends. Registered with
 * {@link Server.Builder#inline(MethodDescriptor, TypedHandler)} (on the I/O thread: it must not block) or
 * {@link Server.Builder#blocking(MethodDescriptor, TypedHandler)} (on the node's handler executor).
 *
 * <p>The {@link ServerCall} is there for what surrounds the request: {@link ServerCall#metadata()},
 * {@link ServerCall#responseMetadata}, {@link ServerCall#deadlineNanos()}, {@link ServerCall#isCancelled()} and
 * {@link ServerCall#childOptions()} for the calls made to serve this one. Do not answer it yourself
 * ({@code reply}, {@code fail}): return the response, or throw. A {@link BatonException} thrown fails the call with
 * its status; any other exception with HANDLER_FAILED and its message. The value returned for a one-way call is
 * dropped (not encoded).
 *
 * @param <Req>  the request type
 * @param <Resp> the response type
 */
@FunctionalInterface
public interface TypedHandler<Req, Resp> {

    /** Serves {@code request}, which is valid (when it is a lent {@link Message}) until this method returns. */
    Resp handle(Req request, ServerCall call) throws Exception;
}
