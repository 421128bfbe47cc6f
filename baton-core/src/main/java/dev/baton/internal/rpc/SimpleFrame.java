package dev.baton.internal.rpc;

import dev.baton.BatonException;
import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;

/** A frame sent and forgotten: CANCEL, PONG, error answers that have no call object. */
final class SimpleFrame extends OutboundFrame {

    SimpleFrame(int type, int flags, int status, long requestId, int serviceId, int serverId, int method,
                ByteBuffer payload) {
        setHeader(type, flags, status, requestId, serviceId, serverId, method, 0);
        setPayload(payload);
    }

    @Override
    public void onWritten() {
    }

    @Override
    public void onDropped(BatonException cause) {
    }
}
