package dev.baton.internal.master;

import dev.baton.BatonException;
import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;

/** A control-plane frame whose fate needs no follow-up (the control plane matches answers by request id). */
final class ControlFrame extends OutboundFrame {

    ControlFrame(int type, int flags, int status, long requestId, int method, ByteBuffer payload) {
        setHeader(type, flags, status, requestId, dev.baton.internal.wire.ControlProtocol.SERVICE_ID, -1, method, 0);
        setPayload(payload);
    }

    @Override
    public void onWritten() {
    }

    @Override
    public void onDropped(BatonException cause) {
    }
}
