/**
 * Baton's meters for Micrometer: {@link dev.baton.micrometer.BatonNodeMetrics} and
 * {@link dev.baton.micrometer.BatonMasterMetrics} bind a node's or a master's figures to a registry;
 * {@link dev.baton.micrometer.PrometheusEndpoint} serves a Prometheus registry's scrape over HTTP.
 */
module dev.baton.micrometer {
    requires transitive dev.baton;
    requires transitive micrometer.core;
    requires static micrometer.registry.prometheus;
    requires jdk.httpserver;

    exports dev.baton.micrometer;
}
