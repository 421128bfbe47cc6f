package dev.baton;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Typed calls on top of the untyped API: the bodies of {@link Client}'s and {@link Server.Builder}'s default methods
 * that take a {@link MethodDescriptor}. Nothing here touches the call path itself; each typed call is one untyped
 * call plus its codecs (see {@link MethodDescriptor} for the failures and their codes).
 */
final class TypedCalls {

    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private TypedCalls() {
    }

    // ------------------------------------------------------------------ the caller's side

    static <Req, Resp> Resp call(Client client, MethodDescriptor<Req, Resp> method, Req request, CallOptions options) {
        ByteBuffer payload = encodeRequest(method, request, true);
        return decodeResponse(method, client.call(method.id(), payload, options(method, options)), true);
    }

    static <Req, Resp> CompletableFuture<Resp> callAsync(Client client, MethodDescriptor<Req, Resp> method,
                                                          Req request, CallOptions options) {
        ByteBuffer payload;
        try {
            payload = encodeRequest(method, request, false);
        } catch (BatonException e) {
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<Message> call = client.callAsync(method.id(), payload, options(method, options));
        TypedFuture<Resp> typed = new TypedFuture<>(call);
        call.whenComplete((response, error) -> typed.deliver(method, response, error));
        return typed;
    }

    static <Req> void oneWay(Client client, MethodDescriptor<Req, ?> method, Req request, CallOptions options) {
        client.oneWay(method.id(), encodeRequest(method, request, true), options(method, options));
    }

    /** The call's options, made idempotent when the method is (without a new instance when they already are). */
    private static CallOptions options(MethodDescriptor<?, ?> method, CallOptions options) {
        Objects.requireNonNull(options, "options");
        return method.idempotent() && !options.idempotent() ? options.withIdempotent(true) : options;
    }

    private static <Req> ByteBuffer encodeRequest(MethodDescriptor<Req, ?> method, Req request, boolean stackTrace) {
        try {
            return Objects.requireNonNull(method.requestCodec().encode(request), "the codec returned no buffer");
        } catch (Exception e) {
            throw new BatonException(Status.of(Status.Code.INVALID_ARGUMENT, "request of method " + method
                    + " could not be encoded: " + describe(e)).withCause(e).withRetrySafe(true), stackTrace);
        }
    }

    /** Decodes a response the caller owns, and closes it unless the codec keeps it. */
    private static <Resp> Resp decodeResponse(MethodDescriptor<?, Resp> method, Message response, boolean stackTrace) {
        Codec<Resp> codec = method.responseCodec();
        boolean kept = false;
        try {
            Resp value = codec.decode(response);
            kept = codec.ownsMessage();
            return value;
        } catch (Exception e) {
            throw new BatonException(Status.of(Status.Code.INTERNAL, "response of method " + method
                    + " could not be decoded: " + describe(e)).withCause(e), stackTrace);
        } finally {
            if (!kept) {
                response.close();
            }
        }
    }

    /** The future of a typed asynchronous call: cancelling it cancels the untyped call under it. */
    private static final class TypedFuture<T> extends CompletableFuture<T> {

        private final CompletableFuture<Message> call;

        TypedFuture(CompletableFuture<Message> call) {
            this.call = call;
        }

        void deliver(MethodDescriptor<?, T> method, Message response, Throwable error) {
            if (error != null) {
                completeExceptionally(error);
                return;
            }
            T value;
            try {
                value = decodeResponse(method, response, false);
            } catch (BatonException e) {
                completeExceptionally(e);
                return;
            }
            if (!complete(value) && value instanceof AutoCloseable owned) {
                closeQuietly(owned);    // cancelled meanwhile: nobody will close what the codec kept
            }
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            call.cancel(mayInterruptIfRunning);
            return cancelled;
        }

        private static void closeQuietly(AutoCloseable owned) {
            try {
                owned.close();
            } catch (Exception ignored) {
                // the value was never handed out; its close failing concerns nobody
            }
        }
    }

    // ------------------------------------------------------------------ the server's side

    /** Registers a typed handler, naming the method when the builder refuses it (a number taken, say). */
    static Server.Builder register(MethodDescriptor<?, ?> method, Object handler, Supplier<Server.Builder> put) {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(handler, "handler");
        try {
            return put.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot register method " + method + ": " + e.getMessage(), e);
        }
    }

    static <Req, Resp> Handler handler(MethodDescriptor<Req, Resp> method, TypedHandler<Req, Resp> handler) {
        return call -> {
            Resp response = handler.handle(decodeRequest(method, call), call);
            call.reply(encodeResponse(method, call, response));
        };
    }

    static <Req, Resp> AsyncHandler async(MethodDescriptor<Req, Resp> method, TypedAsyncHandler<Req, Resp> handler) {
        return call -> {
            CompletionStage<Resp> stage = handler.handle(decodeRequest(method, call), call);
            if (stage == null) {
                throw new BatonException(Status.of(Status.Code.HANDLER_FAILED, "the handler of method " + method
                        + " returned no stage"));
            }
            return stage.thenApply(response -> encodeResponse(method, call, response));
        };
    }

    private static <Req> Req decodeRequest(MethodDescriptor<Req, ?> method, ServerCall call) {
        try {
            return method.requestCodec().decode(call.request());
        } catch (Exception e) {
            throw new BatonException(Status.of(Status.Code.INVALID_ARGUMENT, "request of method " + method
                    + " could not be decoded: " + describe(e)).withCause(e), false);
        }
    }

    private static <Resp> ByteBuffer encodeResponse(MethodDescriptor<?, Resp> method, ServerCall call, Resp response) {
        if (call.isOneWay()) {
            return NOTHING;     // nobody reads it: answering only releases the call
        }
        try {
            return Objects.requireNonNull(method.responseCodec().encode(response), "the codec returned no buffer");
        } catch (Exception e) {
            throw new BatonException(Status.of(Status.Code.HANDLER_FAILED, "response of method " + method
                    + " could not be encoded: " + describe(e)).withCause(e), false);
        }
    }

    private static String describe(Throwable t) {
        return t.getMessage() == null ? t.getClass().getName() : t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}
