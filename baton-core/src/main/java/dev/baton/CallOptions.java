package dev.baton;

import dev.baton.spi.CallScope;

import java.time.Duration;
import java.util.Objects;

/**
 * How one call is made: its deadline, its target and its behaviour under back-pressure. Immutable and
 * thread-safe; derive variants with the {@code with*} methods (each returns a new instance, so precompute
 * the ones you use in a hot loop).
 *
 * <ul>
 *   <li>{@code timeout}: the deadline is the call's start plus this; a default applies ({@link NodeOptions}).</li>
 *   <li>{@code serverId}: call exactly this server of the service ({@code -1}: any server, load-balanced).</li>
 *   <li>{@code rank}: call the service's server on the node with this rank ({@code -1}: any node).</li>
 *   <li>{@code idempotent}: the call may safely run twice. Sent to the server as a flag. Attempts that never ran
 *       (never written, or refused by the server before any handler saw them) move to another server whatever
 *       this says; a written call whose connection breaks is sent again to another server of the service when
 *       idempotent (within three moves and its deadline), and otherwise fails with UNAVAILABLE, not retry-safe
 *       (docs/failure-semantics.md).</li>
 *   <li>{@code failFast}: when the peer's send queue is full, fail at once with RESOURCE_EXHAUSTED instead
 *       of waiting (up to the deadline) for room.</li>
 *   <li>{@code metadata}: headers sent with the request ({@link Metadata}); none by default, which puts no byte
 *       on the wire. A peer too old to take metadata (protocol version 2) fails the call with UNIMPLEMENTED.</li>
 *   <li>{@code compression}: compress the request, and ask for the response to be compressed, with this
 *       encoding ({@link Compression}); none by default. Granted only where it pays and the peer takes it: a message
 *       below the node's {@link NodeOptions#compressionThreshold()}, to a peer without the encoding, in process, or
 *       that does not shrink goes as it is.</li>
 *   <li>{@code scope}: the call being served that this call is made for ({@link ServerCall#childOptions()}): the
 *       call ends by that call's deadline at the latest, and is cancelled (CANCELLED) when that call is.</li>
 * </ul>
 */
public final class CallOptions {

    /** Defaults: the node's default timeout, any server, not idempotent, wait for capacity. */
    public static final CallOptions DEFAULT = new CallOptions(null, -1, -1, false, false, null, null, Compression.NONE);

    private final Duration timeout;
    private final int serverId;
    private final int rank;
    private final boolean idempotent;
    private final boolean failFast;
    private final Metadata metadata;     // null for none
    private final CallScope scope;       // null for none
    private final Compression compression;

    private CallOptions(Duration timeout, int serverId, int rank, boolean idempotent, boolean failFast,
                        Metadata metadata, CallScope scope, Compression compression) {
        this.scope = scope;
        this.compression = compression;
        this.timeout = timeout;
        this.serverId = serverId;
        this.rank = rank;
        this.idempotent = idempotent;
        this.failFast = failFast;
        this.metadata = metadata;
    }

    /** The timeout, or null for the node's default. */
    public Duration timeout() {
        return timeout;
    }

    public int serverId() {
        return serverId;
    }

    public int rank() {
        return rank;
    }

    public boolean idempotent() {
        return idempotent;
    }

    public boolean failFast() {
        return failFast;
    }

    /** The request's metadata; {@link Metadata#EMPTY} for none. */
    public Metadata metadata() {
        return metadata == null ? Metadata.EMPTY : metadata;
    }

    /** True when the request carries metadata. */
    public boolean hasMetadata() {
        return metadata != null;
    }

    /** Sends {@code metadata} with the request (replacing any set before); {@link Metadata#EMPTY} for none. */
    public CallOptions withMetadata(Metadata metadata) {
        Objects.requireNonNull(metadata, "metadata");
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata.isEmpty() ? null : metadata,
                scope, compression);
    }

    public CallOptions withTimeout(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeout);
        }
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    /** Targets one server by id; {@code -1} goes back to load balancing. */
    public CallOptions withServerId(int serverId) {
        if (serverId < -1) {
            throw new IllegalArgumentException("serverId must be >= -1, was " + serverId);
        }
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    /** Targets the service's server on the node with {@code rank}; {@code -1} goes back to any node. */
    public CallOptions withRank(int rank) {
        if (rank < -1) {
            throw new IllegalArgumentException("rank must be >= -1, was " + rank);
        }
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    public CallOptions withIdempotent(boolean idempotent) {
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    public CallOptions withFailFast(boolean failFast) {
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    /** The call this one is made for, or null. */
    public CallScope scope() {
        return scope;
    }

    /**
     * Makes the call on behalf of {@code scope} (null for none): it ends by the scope's deadline at the latest
     * and is cancelled with it. {@link ServerCall#childOptions()} is the usual way to get one.
     */
    public CallOptions withScope(CallScope scope) {
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    /** The compression asked for; {@link Compression#NONE} by default. */
    public Compression compression() {
        return compression;
    }

    /**
     * Compresses the request, and asks for the response to be compressed, with {@code compression} when the
     * connection allows it ({@link Compression}).
     *
     * @throws IllegalArgumentException if this process has no compressor for it (add {@code baton-compression})
     */
    public CallOptions withCompression(Compression compression) {
        Objects.requireNonNull(compression, "compression");
        if (!compression.isAvailable()) {
            throw new IllegalArgumentException(compression.wireName() + " compression needs the baton-compression "
                    + "module (dev.baton:baton-compression) on the class or module path");
        }
        return new CallOptions(timeout, serverId, rank, idempotent, failFast, metadata, scope, compression);
    }

    @Override
    public String toString() {
        return "CallOptions[timeout=" + timeout + ", serverId=" + serverId + ", rank=" + rank
                + ", idempotent=" + idempotent + ", failFast=" + failFast
                + (metadata == null ? "" : ", metadata=" + metadata)
                + (compression == Compression.NONE ? "" : ", compression=" + compression.wireName())
                + (scope == null ? "" : ", scoped") + "]";
    }
}
