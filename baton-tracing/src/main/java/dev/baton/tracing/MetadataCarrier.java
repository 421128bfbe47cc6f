package dev.baton.tracing;

import dev.baton.Metadata;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * How a propagator reads and writes Baton {@link Metadata}: text entries, keys as the propagator names them (W3C's
 * {@code traceparent}, {@code tracestate}, {@code baggage}: lower case, as metadata keys must be). A key a
 * propagator would write that metadata cannot hold is skipped rather than failing the call.
 */
final class MetadataCarrier {

    /** Collects what a propagator injects, for one call. */
    static final class Injected {
        Metadata metadata;

        Injected(Metadata metadata) {
            this.metadata = metadata;
        }
    }

    static final TextMapSetter<Injected> SETTER = (carrier, key, value) -> {
        if (carrier == null || key == null || value == null) {
            return;
        }
        try {
            carrier.metadata = carrier.metadata.with(key.toLowerCase(java.util.Locale.ROOT), value);
        } catch (IllegalArgumentException notAKey) {
            // A propagator's key (or value) that metadata cannot carry: that field is not propagated.
        }
    };

    static final TextMapGetter<Metadata> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Metadata carrier) {
            return carrier.keys();
        }

        @Override
        public String get(Metadata carrier, String key) {
            if (carrier == null || key == null) {
                return null;
            }
            String k = key.toLowerCase(java.util.Locale.ROOT);
            return carrier.containsKey(k) && !carrier.isBinary(k) ? carrier.get(k) : null;
        }
    };

    private MetadataCarrier() {
    }
}
