/**
 * Baton's device tracker: {@link dev.baton.tracker.Tracker} speaks Apache TVM's RPC tracker protocol (TVM's
 * servers, clients and {@code query_rpc_tracker} work with it, without TVM's known faults), and
 * {@link dev.baton.tracker.TrackerClient} speaks it from Java; {@link dev.baton.tracker.TrackerService} and
 * {@link dev.baton.tracker.TrackerLeases} are Baton's native protocol, a Baton service. See docs/tracker.md.
 */
module dev.baton.tracker {
    requires transitive dev.baton;          // Status, BatonException: the one error currency
    requires transitive com.google.gson;    // TrackerSummary.toJson
    requires jdk.net;                       // TCP keepalive timings, so dead peers leave within a minute

    exports dev.baton.tracker;
}
