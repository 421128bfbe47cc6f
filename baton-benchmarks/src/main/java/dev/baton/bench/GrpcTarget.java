package dev.baton.bench;

import com.google.protobuf.BytesValue;
import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * gRPC's client side: one channel (one HTTP/2 connection) per server, plaintext, direct executor, defaults
 * otherwise. Blocking calls use the blocking stub's path ({@link ClientCalls#blockingUnaryCall}); asynchronous
 * ones {@link ClientCalls#asyncUnaryCall}. With several servers, each outstanding call alternates between them.
 */
final class GrpcTarget implements Target {

    private final List<ManagedChannel> channels = new ArrayList<>();
    private final Workload workload;
    private final BytesValue request;

    private GrpcTarget(Workload workload) {
        this.workload = workload;
        this.request = BytesValue.newBuilder().setValue(ByteString.copyFrom(workload.payload())).build();
    }

    /** Opens a channel to each server: plaintext, or over TLS with {@code tls}. */
    static GrpcTarget open(List<InetSocketAddress> servers, Workload w,
                           io.grpc.netty.shaded.io.netty.handler.ssl.SslContext tls) {
        GrpcTarget t = new GrpcTarget(w);
        try {
            for (InetSocketAddress a : servers) {
                NettyChannelBuilder builder = NettyChannelBuilder.forAddress(a.getHostString(), a.getPort());
                if (tls != null) {
                    builder.sslContext(tls);
                } else {
                    builder.usePlaintext();
                }
                t.channels.add(builder
                        .directExecutor()
                        .maxInboundMessageSize(GrpcEcho.MAX_MESSAGE_SIZE)
                        .build());
            }
            for (ManagedChannel c : t.channels) {
                BytesValue r = ClientCalls.blockingUnaryCall(c, GrpcEcho.METHOD,
                        CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), t.request);
                Target.checkEcho(w.payloadBytes, r.getValue().size());
            }
            return t;
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    @Override
    public Lane lane(int index) {
        int expected = workload.payloadBytes;
        ManagedChannel[] ch = channels.toArray(new ManagedChannel[0]);
        if (workload.stream) {
            BytesValue size = BytesValue.newBuilder().setValue(ByteString.copyFrom(ByteBuffer.allocate(4)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, expected))).build();
            java.util.Iterator<BytesValue> messages = ClientCalls.blockingServerStreamingCall(ch[index % ch.length],
                    GrpcEcho.STREAM, CallOptions.DEFAULT, size);
            return Lane.sequential(() -> Target.checkEcho(expected, messages.next().getValue().size()));
        }
        if (workload.sequential()) {
            ManagedChannel c = ch[index % ch.length];
            return Lane.sequential(() -> Target.checkEcho(expected,
                    ClientCalls.blockingUnaryCall(c, GrpcEcho.METHOD, CallOptions.DEFAULT, request).getValue().size()));
        }
        return new Lane.Async(workload.depth) {
            private int slots;

            @Override
            protected Slot newSlot() {
                return new GrpcSlot(this, expected, slots++);
            }

            @Override
            protected void start(Slot slot) {
                GrpcSlot s = (GrpcSlot) slot;
                ManagedChannel c = ch[(s.index + s.calls++) % ch.length];
                ClientCalls.asyncUnaryCall(c.newCall(GrpcEcho.METHOD, CallOptions.DEFAULT), request, s);
            }
        };
    }

    /** The slot is its own response observer (one call at a time per slot). */
    private static final class GrpcSlot extends Lane.Async.Slot implements StreamObserver<BytesValue> {
        private final int expected;
        final int index;
        int calls;
        private int received = -1;

        GrpcSlot(Lane.Async lane, int expected, int index) {
            super(lane);
            this.expected = expected;
            this.index = index;
        }

        @Override
        public void onNext(BytesValue value) {
            received = value.getValue().size();
        }

        @Override
        public void onError(Throwable t) {
            received = -1;
            done(t);
        }

        @Override
        public void onCompleted() {
            int r = received;
            received = -1;
            done(r == expected ? null : new IllegalStateException("echo returned " + r + " bytes, expected " + expected));
        }
    }

    @Override
    public void close() {
        for (ManagedChannel c : channels) {
            c.shutdownNow();
        }
        for (ManagedChannel c : channels) {
            try {
                c.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
