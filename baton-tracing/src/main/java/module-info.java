/**
 * OpenTelemetry tracing of Baton calls: {@link dev.baton.tracing.BatonTracing} makes a client and a server
 * interceptor that record a span per call and carry the trace context in the call's metadata.
 */
module dev.baton.tracing {
    requires transitive dev.baton;
    requires transitive io.opentelemetry.api;
    requires transitive io.opentelemetry.context;

    exports dev.baton.tracing;
}
