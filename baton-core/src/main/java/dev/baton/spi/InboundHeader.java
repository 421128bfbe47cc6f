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

    /** Payload size in bytes (the message, after any metadata). */
    int length();

    /** The frame's metadata, or null when it carried none (always on a connection that speaks version 2). */
    Metadata metadata();
}
