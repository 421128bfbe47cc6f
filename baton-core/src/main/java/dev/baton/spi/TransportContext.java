package dev.baton.spi;

import java.util.function.IntSupplier;

/**
 * What a transport needs from the node that owns it.
 *
 * @param name              a name for threads and logs
 * @param nodeId            this node's incarnation id, sent in the handshake
 * @param role              {@link PeerIdentity#ROLE_NODE}, {@link PeerIdentity#ROLE_MASTER} or {@link PeerIdentity#ROLE_TOOL}
 * @param rank              this node's current rank (-1 before joining), read at each handshake
 * @param handler           receives frames and connection events
 * @param settings          limits and thread settings
 */
public record TransportContext(String name, long nodeId, int role, IntSupplier rank, FrameHandler handler,
                               TransportSettings settings) {
}
