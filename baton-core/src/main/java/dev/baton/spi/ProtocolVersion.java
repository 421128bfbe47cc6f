package dev.baton.spi;

/**
 * The wire protocol's versions (docs/protocol.md#versions). Each side says in its handshake the highest version
 * it speaks; a connection speaks the lower of the two ({@link PeerIdentity#protocolVersion()}).
 */
public final class ProtocolVersion {

    /** The oldest version this node speaks, and the framing version every preface carries. */
    public static final int MIN = 2;
    /** The newest version this node speaks. */
    public static final int MAX = 6;
    /** The first version whose frames carry {@link dev.baton.Metadata}. */
    public static final int METADATA = 3;
    /** The first version with streams ({@link FrameType#STREAM_DATA}, {@link FrameType#STREAM_CREDIT}). */
    public static final int STREAMS = 4;
    /**
     * The first version whose GOAWAY may close one connection only ({@link FrameType#FLAG_CONNECTION_ONLY}): its
     * receiver stops sending on it and hangs up once its calls are answered, but keeps the sender as a peer.
     */
    public static final int CONNECTION_GOAWAY = 5;
    /**
     * The first version that can prove a cluster secret in the handshake ({@link FrameType#CHALLENGE},
     * {@link FrameType#PROOF}, the HELLO flag {@link FrameType#FLAG_CLUSTER_SECRET}). A node with a secret refuses a
     * peer that speaks less, since it cannot prove one.
     */
    public static final int CLUSTER_SECRET = 6;

    private ProtocolVersion() {
    }
}
