package dev.baton.spi.connection;

import dev.baton.BatonException;
import dev.baton.spi.OutboundFrame;

/** A PING or PONG the connection core sends itself: no payload, nothing to report back. */
final class LivenessFrame extends OutboundFrame {

    LivenessFrame(int type, long id) {
        setHeader(type, 0, 0, id, 0, 0, 0, 0);
    }

    @Override
    public void onWritten() {
    }

    @Override
    public void onDropped(BatonException cause) {
    }
}
