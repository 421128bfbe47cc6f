package dev.baton.spi;

import dev.baton.Metadata;

/**
 * The header of a received frame. A transport reuses one instance per connection: it is valid only during
 * the {@link FrameHandler#onFrame} call that received it.
 */
public interface InboundHeader {
    int type();

    int flags();

    int status();

    long requestId();

    int serviceId();

    int serverId();

    int method();

    /** Time the sender had left until the deadline, in nanoseconds; 0 for none. */
    long timeoutNs();

    /**
     * When this frame was received, on {@link System#nanoTime()}'s clock: the receiver's deadline for a request is
     * this plus {@link #timeoutNs()}. A transport may answer the same time for every frame of one read (their bytes
     * arrived together), so a batch costs one clock read, not one per frame; by default, now.
     */
    default long receivedNanos() {
        return System.nanoTime();
    }

    /**
     * On a REQUEST, the compression the caller asks the response to go with ({@link OutboundFrame#setEncoding}); 0
     * for none. The transport has already decompressed the request itself.
     */
    default int responseEncoding() {
        return 0;
    }

    /** Payload size in bytes (the message, after any metadata; decompressed). */
    int length();

    /** The frame's metadata, or null when it carried none (always on a connection that speaks version 2). */
    Metadata metadata();
}
