package dev.baton.spi;

/**
 * Who is at the other end of a connection, as its handshake said.
 *
 * @param nodeId                random 64-bit id of the peer process's node incarnation (unique per start)
 * @param rank                  the peer's global rank, or -1 before it joined (or for a master)
 * @param role                  what the peer is: {@link #ROLE_NODE}, {@link #ROLE_MASTER} or {@link #ROLE_TOOL}
 * @param maxMessageSize        the largest payload the peer accepts; larger messages to it fail on the sender
 * @param maxConcurrentRequests how many requests the peer serves at once on this connection before it refuses
 *                              more (RESOURCE_EXHAUSTED); a sender keeps its two-way requests in flight within
 *                              it, queueing the rest locally. 0 when the peer did not say (no limit known)
 * @param protocolVersion       the protocol version this connection speaks: the highest both sides do
 *                              (docs/protocol.md#versions). 3 and above carry metadata
 * @param acceptedEncodings     the compressed encodings the peer reads, as a mask of {@code 1 << id}
 *                              ({@link Compressor#id()}); 0 when it reads none (docs/protocol.md#compression)
 * @param provedClusterSecret   true when the peer proved, in this connection's handshake, that it knows this side's
 *                              {@link ClusterSecret} (only connections of a side that has one; docs/security.md)
 */
public record PeerIdentity(long nodeId, int rank, int role, int maxMessageSize, int maxConcurrentRequests,
                           int protocolVersion, int acceptedEncodings, boolean provedClusterSecret) {

    /** A peer that proved no cluster secret. */
    public PeerIdentity(long nodeId, int rank, int role, int maxMessageSize, int maxConcurrentRequests,
                        int protocolVersion, int acceptedEncodings) {
        this(nodeId, rank, role, maxMessageSize, maxConcurrentRequests, protocolVersion, acceptedEncodings, false);
    }

    /** A peer that reads no compressed encoding. */
    public PeerIdentity(long nodeId, int rank, int role, int maxMessageSize, int maxConcurrentRequests,
                        int protocolVersion) {
        this(nodeId, rank, role, maxMessageSize, maxConcurrentRequests, protocolVersion, 0);
    }

    public static final int ROLE_NODE = 0;
    public static final int ROLE_MASTER = 1;
    /** A short-lived client such as the CLI; the master refuses to let it join the membership. */
    public static final int ROLE_TOOL = 2;

    /** True when the peer reads messages compressed with encoding {@code id} (never for 0, no compression). */
    public boolean acceptsEncoding(int id) {
        return id > 0 && id < 32 && (acceptedEncodings & (1 << id)) != 0;
    }

    /** This identity, once the peer has proved the cluster secret. */
    public PeerIdentity withProvedClusterSecret() {
        return new PeerIdentity(nodeId, rank, role, maxMessageSize, maxConcurrentRequests, protocolVersion,
                acceptedEncodings, true);
    }

    /** True when this connection can carry metadata. */
    public boolean speaksMetadata() {
        return protocolVersion >= ProtocolVersion.METADATA;
    }
}
