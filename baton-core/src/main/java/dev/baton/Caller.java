package dev.baton;

import java.security.Principal;

/**
 * Who is calling: the process at the other end of the connection a request (or a join, or a registration) came
 * on, as its handshake proved and said. What {@link ServerCall#caller()} returns and what an {@link Authorizer}
 * decides on.
 *
 * <p>Only {@link #principal()} (a transport that verified a certificate, a member key proved in the handshake, or the
 * kernel's word for a shared-memory peer's user) and {@link #provedClusterSecret()} are proved. The node id, rank
 * and role are what the peer's handshake <em>said</em>: a process that knows the cluster
 * secret can claim any of them. Decide on them only among processes that trust each other that far.
 *
 * <p>Immutable.
 *
 * @param nodeId              the calling process's node id (random per incarnation, {@link Node#nodeId()})
 * @param rank                the caller's rank as its handshake said: -1 before it joined, and for masters, observers
 *                            and tools; a node that joined again under another rank keeps the old one on connections
 *                            it opened before
 * @param role                what the caller is
 * @param address             the remote address of the connection, for logs; null in process
 * @param principal           who the transport proved the peer to be: the subject of a verified TLS certificate; with
 *                            the cluster secret alone, the peer node's member key
 *                            ({@link dev.baton.spi.MemberKey.KeyPrincipal}, {@code ed25519:...}); over shared memory
 *                            the peer's operating-system user (a {@link java.nio.file.attribute.UserPrincipal}); null
 *                            when the transport authenticates no one (plain TCP without a secret), and in process
 * @param provedClusterSecret true when the caller proved the cluster secret in its connection's handshake, and in
 *                            process when this node has one
 * @param inProcess           true for a call this node made to its own server, which no connection carried
 */
public record Caller(long nodeId, int rank, Role role, String address, Principal principal,
                     boolean provedClusterSecret, boolean inProcess) {

    /** What kind of process calls. */
    public enum Role {
        /** A member node (or one about to join). */
        NODE,
        /** A master. */
        MASTER,
        /** A short-lived client: the CLI, a {@link Probe}, an observer ({@link Node#observe}). */
        TOOL
    }

    /** For logs and refusals: "rank 3 (node 4f2a..., tool at /10.0.0.5:51234)". */
    public String describe() {
        String who = rank >= 0 ? "rank " + rank : "an unranked " + role.name().toLowerCase(java.util.Locale.ROOT);
        return who + " (node " + Long.toHexString(nodeId) + (inProcess ? ", in process" : ", at " + address)
                + (principal != null ? ", " + principal.getName() : "") + ")";
    }
}
