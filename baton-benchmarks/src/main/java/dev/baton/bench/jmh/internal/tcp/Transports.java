package dev.baton.bench.jmh.internal.tcp;

import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.internal.tcp.TcpTransport;
import dev.baton.spi.FrameHandler;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.PeerIdentity;
import dev.baton.spi.TransportConnection;
import dev.baton.spi.TransportContext;
import dev.baton.spi.TransportSettings;
import dev.baton.spi.connection.BufferPool;

import java.time.Duration;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/** TCP transports for the benchmarks of {@code dev.baton.internal.tcp}, with a frame-counting handler. */
final class Transports {

    /** 1 I/O thread, 1 MiB messages, the node's default queue limits, no spin, no keepalive. */
    static final TransportSettings SETTINGS = TransportSettings.builder()
            .maxMessageSize(1 << 20)
            .handshakeTimeout(Duration.ofSeconds(5))
            .keepaliveInterval(Duration.ZERO)
            .keepaliveTimeout(Duration.ZERO)
            .build();

    private Transports() {
    }

    static TcpTransport create(String name, FrameHandler handler) {
        TransportContext context = new TransportContext(name, ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE,
                PeerIdentity.ROLE_NODE, () -> 0, handler, SETTINGS);
        return new TcpTransport(context, new BufferPool(64L << 20));
    }

    /** Counts frames and closes their payloads (giving the pooled buffers back); records the first open. */
    static final class CountingHandler implements FrameHandler {
        final LongAdder frames = new LongAdder();
        final CountDownLatch opened = new CountDownLatch(1);
        final AtomicReference<TransportConnection> connection = new AtomicReference<>();
        volatile long lastRequestId;

        @Override
        public void onOpen(TransportConnection c) {
            connection.compareAndSet(null, c);
            opened.countDown();
        }

        @Override
        public void onFrame(TransportConnection c, InboundHeader header, Message payload) {
            lastRequestId = header.requestId();
            MessageAccess.get().release(payload);
            frames.increment();
        }

        @Override
        public void onClose(TransportConnection c, BatonException cause) {
        }
    }
}
