/**
 * Baton's device tracker, wire-compatible with Apache TVM's RPC tracker: servers offer themselves under a key,
 * clients request one by priority, and each server is one client's at a time.
 *
 * <h2>Classes</h2>
 * <ul>
 *   <li>{@link dev.baton.tracker.Tracker}: the embedded tracker ({@code bin/baton tracker} runs one), configured
 *       by {@link dev.baton.tracker.TrackerOptions}; {@link dev.baton.tracker.TrackerStats} counts what it did.</li>
 *   <li>{@link dev.baton.tracker.TrackerClient}: TVM's tracker protocol from Java, against Baton's tracker or
 *       TVM's own: {@link dev.baton.tracker.TrackerSummary summaries}, requests that end in a
 *       {@link dev.baton.tracker.TrackerGrant} or a typed error, and a server's
 *       {@link dev.baton.tracker.ServerRegistration}.</li>
 *   <li>{@link dev.baton.tracker.TrackerService}: Baton's native protocol, the {@code baton.tracker} service on a
 *       node in front of a tracker; {@link dev.baton.tracker.TrackerLeases} registers Baton servers
 *       ({@link dev.baton.tracker.TrackerRegistration}) and leases them ({@link dev.baton.tracker.TrackerLease},
 *       whose client calls the leased server); a {@link dev.baton.tracker.TrackerGuard} makes a server enforce its
 *       leases.</li>
 *   <li>{@code dev.baton.tracker.internal} (not exported): the selector loop ({@code TrackerLoop}), the
 *       protocol's semantics ({@code TrackerConductor}, {@code Pool}), frames and messages ({@code TvmWire},
 *       {@code FrameDecoder}, {@code TvmMessage}), the client's blocking connection ({@code TvmSocket}), and the
 *       native side ({@code NativeService}, {@code NativeConductor}, {@code NativeWire}, {@code LeaseToken}).</li>
 * </ul>
 *
 * <p>docs/tracker.md has the protocol as implemented, its limits, and every difference from TVM's tracker.
 */
package dev.baton.tracker;
