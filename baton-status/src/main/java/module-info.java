/**
 * Baton status: what {@code bin/baton status} and the master's status page show. {@link dev.baton.status.ClusterSample}
 * asks every node of a cluster for its status; {@link dev.baton.status.StatusJson} writes it as the documented JSON;
 * {@link dev.baton.status.StatusPage} serves a live page, its JSON and an event stream over HTTP.
 */
module dev.baton.status {
    requires transitive dev.baton;
    requires transitive com.google.gson;
    requires dev.baton.accumulator;
    requires jdk.httpserver;

    exports dev.baton.status;
}
