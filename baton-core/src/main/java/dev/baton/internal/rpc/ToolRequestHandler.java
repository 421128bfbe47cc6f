package dev.baton.internal.rpc;

import dev.baton.Message;
import dev.baton.spi.InboundHeader;
import dev.baton.spi.TransportConnection;

/**
 * Answers the requests tools send on service id 0 of a node's data port (health, status, the node's view).
 * The call path only routes them here: what they say is the control protocol's business, which it does not
 * know; it asks {@link NodeRuntime#checkObserve} before answering. Called on the I/O thread that read the request;
 * must not block, and must release {@code payload}.
 */
public interface ToolRequestHandler {

    void onRequest(NodeRuntime node, TransportConnection connection, InboundHeader header, Message payload);
}
