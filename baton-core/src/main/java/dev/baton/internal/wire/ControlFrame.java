package dev.baton.internal.wire;

import dev.baton.BatonException;
import dev.baton.spi.OutboundFrame;

import java.nio.ByteBuffer;

/** A control-plane frame whose fate needs no follow-up (the control plane matches answers by request id). */
public final class ControlFrame extends OutboundFrame {

    public ControlFrame(int type, int flags, int status, long requestId, int method, ByteBuffer payload) {
        setHeader(type, flags, status, requestId, ControlProtocol.SERVICE_ID, -1, method, 0);
        setPayload(payload);
    }

    @Override
    public void onWritten() {
    }

    @Override
    public void onDropped(BatonException cause) {
    }
}
