package dev.baton.internal.registry;

import dev.baton.Authorizer;
import dev.baton.BatonException;
import dev.baton.Message;
import dev.baton.Status;
import dev.baton.internal.rpc.NodeRuntime;
import dev.baton.internal.rpc.ToolRequestHandler;
import dev.baton.internal.wire.ControlFrame;
import dev.baton.internal.wire.ControlProtocol;
import dev.baton.internal.wire.StatusCodec;
import dev.baton.internal.wire.WireWriter;
import dev.baton.spi.FrameType;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.MessageAccess;
import dev.baton.spi.TransportConnection;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The requests a node answers on service id 0 of its data port, for tools ({@code dev.baton.Probe},
 * {@code bin/baton status} and {@code health}): {@link ControlProtocol#HEALTH},
 * {@link ControlProtocol#NODE_STATUS} and {@link ControlProtocol#SNAPSHOT} (the node's view of the membership).
 * Answered on the I/O thread that read them (a few counter reads, or a view already made); they are not calls: no
 * server, no admission slot, no counter of their own. The node's authorizer, if it has one, is asked first
 * ({@link Authorizer#authorizeObserve}, whoever asks: no node's runtime sends these); a refusal is answered with
 * PERMISSION_DENIED.
 */
public final class NodeToolRequests implements ToolRequestHandler {

    @Override
    public void onRequest(NodeRuntime node, TransportConnection c, InboundHeader h, Message payload) {
        MessageAccess.get().release(payload);      // every request here has an empty body
        if ((h.flags() & FrameType.FLAG_ONE_WAY) != 0) {
            return;
        }
        int status = 0;
        ByteBuffer body;
        try {
            WireWriter w = new WireWriter();
            switch (h.method()) {
                case ControlProtocol.HEALTH -> {
                    node.checkObserve(c, Authorizer.Observation.HEALTH, "ask the node's health");
                    StatusCodec.writeHealth(w, node.health());
                }
                case ControlProtocol.NODE_STATUS -> {
                    node.checkObserve(c, Authorizer.Observation.NODE_STATUS, "read the node's status");
                    StatusCodec.writeNodeStatus(w, node.status());
                }
                case ControlProtocol.SNAPSHOT -> {
                    node.checkObserve(c, Authorizer.Observation.MEMBERSHIP, "read the node's view of the membership");
                    ControlProtocol.writeSnapshot(w, node.membership());
                }
                default -> throw Status.of(Status.Code.NO_SUCH_METHOD, "a node's service 0 has no method "
                        + h.method() + " (tools may ask for SNAPSHOT " + ControlProtocol.SNAPSHOT + ", HEALTH "
                        + ControlProtocol.HEALTH + " and NODE_STATUS " + ControlProtocol.NODE_STATUS + ")").asException();
            }
            body = w.toBuffer();
        } catch (BatonException e) {
            status = e.status().code().value();
            body = StandardCharsets.UTF_8.encode(String.valueOf(e.status().description()));
        }
        c.offer(new ControlFrame(FrameType.RESPONSE, 0, status, h.requestId(), h.method(), body));
    }
}
