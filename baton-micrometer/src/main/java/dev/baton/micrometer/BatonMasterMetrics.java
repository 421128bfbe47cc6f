package dev.baton.micrometer;

import dev.baton.CoordinationState;
import dev.baton.Master;
import dev.baton.Membership;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * A master's figures as Micrometer gauges, read when the registry asks: {@code baton.master.nodes},
 * {@code baton.master.services}, {@code baton.master.servers}, {@code baton.master.membership.version}, and its
 * coordination state: {@code baton.master.locks} (tag {@code state}: held, waiting), {@code baton.master.barriers}
 * (rounds in progress), {@code baton.master.id.keys}, {@code baton.master.keys}, {@code baton.master.watches}.
 */
public final class BatonMasterMetrics implements MeterBinder {

    private final Master master;
    private final Tags tags;

    public BatonMasterMetrics(Master master, Iterable<Tag> tags) {
        this.master = Objects.requireNonNull(master, "master");
        this.tags = Tags.of(tags);
    }

    public BatonMasterMetrics(Master master) {
        this(master, Tags.empty());
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        membership(registry, "baton.master.nodes", "nodes in the membership", m -> m.nodes().size());
        membership(registry, "baton.master.services", "services with at least one server", m -> m.services().size());
        membership(registry, "baton.master.servers", "servers of all services",
                m -> m.services().stream().mapToInt(s -> m.servers(s).size()).sum());
        membership(registry, "baton.master.membership.version", "the membership's version (one per change)",
                Membership::version);
        coordination(registry, "baton.master.locks", Tags.of("state", "held"), "locks held",
                s -> s.locks().stream().filter(l -> !l.holder().isEmpty()).count());
        coordination(registry, "baton.master.locks", Tags.of("state", "waiting"), "lock requests waiting",
                s -> s.locks().stream().mapToInt(CoordinationState.Lock::waiting).sum());
        coordination(registry, "baton.master.barriers", Tags.empty(), "barrier rounds in progress",
                s -> s.barriers().size());
        coordination(registry, "baton.master.id.keys", Tags.empty(), "id counters", CoordinationState::idKeys);
        coordination(registry, "baton.master.keys", Tags.empty(), "key/value entries", CoordinationState::keys);
        coordination(registry, "baton.master.watches", Tags.empty(), "key/value watches", CoordinationState::watches);
    }

    private void membership(MeterRegistry r, String name, String help, ToDoubleFunction<Membership> f) {
        Gauge.builder(name, master, m -> f.applyAsDouble(m.membership())).description(help).tags(tags).register(r);
    }

    private void coordination(MeterRegistry r, String name, Tags more, String help,
                              ToDoubleFunction<CoordinationState> f) {
        Gauge.builder(name, master, m -> f.applyAsDouble(m.coordinationState())).description(help)
                .tags(tags.and(more)).register(r);
    }
}
