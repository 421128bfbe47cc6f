/**
 * OpenTelemetry tracing for Baton: {@link dev.baton.tracing.BatonTracing} records client and server spans through
 * Baton's interceptors and carries the trace context in call metadata. Depends on the OpenTelemetry API only; the
 * application configures the SDK and its exporters.
 */
package dev.baton.tracing;
