package dev.baton.internal.tcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;

/**
 * What a {@link TlsConnection} asks of its {@link SSLEngine} apart from moving records: running the engine's
 * delegated tasks (certificate checks, key exchange), inline or off the loop, and sending the alert it holds after a
 * failed handshake.
 */
final class EngineSteps {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private EngineSteps() {
    }

    /** Runs every task {@code engine} has, on this thread. */
    static void runTasks(SSLEngine engine) {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** Runs every task {@code engine} has on a virtual thread of its own, then {@code then} on {@code loop}. */
    static void runTasksOffLoop(SSLEngine engine, IoLoop loop, Runnable then) {
        Thread.ofVirtual().name("baton-tls-handshake-task").start(() -> {
            try {
                runTasks(engine);
            } finally {
                loop.execute(then);     // a task that failed left its error in the engine, which the loop meets
            }
        });
    }

    /**
     * Best effort: writes the alert {@code engine} holds (after a failure, so the peer learns why instead of seeing
     * EOF; or close_notify) to {@code channel}. Nothing when part of a record was already written
     * ({@code midRecord}): an alert would then be garbage to the peer.
     */
    static void sendAlert(SSLEngine engine, SocketChannel channel, int packetSize, boolean midRecord) {
        if (midRecord) {
            return;
        }
        try {
            ByteBuffer alert = ByteBuffer.allocate(packetSize);
            for (int i = 0; i < 4; i++) {
                SSLEngineResult r = engine.wrap(EMPTY, alert);
                if (r.bytesProduced() == 0) {
                    break;
                }
            }
            alert.flip();
            if (alert.hasRemaining()) {
                channel.write(alert);
            }
        } catch (IOException | RuntimeException ignored) {
            // the connection closes anyway; a closed or full socket: the peer sees the end of the stream instead
        }
    }
}
