package dev.baton.testkit.registry;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;
import dev.baton.spi.Registry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A {@link Registry.Listener} that records what a registry tells one node, keeps the view those calls build,
 * and notes every breach of the listener contract as it happens:
 * <ul>
 *   <li>an event before the first snapshot;</li>
 *   <li>an event whose version is not larger than the view's (a duplicate or out of order; after a snapshot,
 *       counting restarts from the snapshot's version). Versions need not be consecutive: the master's are,
 *       ZooKeeper's come from its transaction ids;</li>
 *   <li>an event that does not fit the view: a node that joins twice, a node or server removed that was not
 *       there, a server added twice or on a rank that is not a member, a node that leaves while servers of its
 *       rank are still listed (its servers must be removed first);</li>
 *   <li>a snapshot listing a server on a rank that is not a member.</li>
 * </ul>
 * Thread-safe: the registry calls it on its own threads, the test reads it on its thread. Never blocks.
 */
final class MembershipRecorder implements Registry.Listener {

    private final String name;
    private final List<Membership> snapshots = new ArrayList<>();
    private final List<MembershipEvent> events = new ArrayList<>();
    private final List<NodeInfo> rejoins = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private Membership view;

    MembershipRecorder(String name) {
        this.name = name;
    }

    @Override
    public synchronized void onSnapshot(Membership membership) {
        for (String service : membership.services()) {
            for (ServerInfo s : membership.servers(service)) {
                if (membership.node(s.rank()).isEmpty()) {
                    violations.add("snapshot v" + membership.version() + " lists " + s + " on a rank that is not a member");
                }
            }
        }
        snapshots.add(membership);
        view = membership;
    }

    @Override
    public synchronized void onEvent(MembershipEvent event) {
        events.add(event);
        if (view == null) {
            violations.add(event + " before the first snapshot");
            return;
        }
        if (event.version() <= view.version()) {
            violations.add(event + " after v" + view.version() + ": a duplicate or out of order");
        }
        String misfit = misfit(view, event);
        if (misfit != null) {
            violations.add(event + ": " + misfit + " in " + view);
        }
        view = view.apply(event);
    }

    /** Why {@code e} cannot follow {@code m}, or null. */
    private static String misfit(Membership m, MembershipEvent e) {
        return switch (e) {
            case MembershipEvent.NodeJoined j -> m.node(j.node().rank()).isPresent() ? "rank already a member" : null;
            case MembershipEvent.NodeLeft l -> m.node(l.node().rank()).isEmpty() ? "not a member"
                    : !m.serversOn(l.node().rank()).isEmpty() ? "left before its servers were removed" : null;
            case MembershipEvent.ServerAdded a -> m.node(a.server().rank()).isEmpty() ? "hosted by a non-member"
                    : has(m, a.server()) ? "added twice" : null;
            case MembershipEvent.ServerRemoved r -> has(m, r.server()) ? null : "not registered";
        };
    }

    private static boolean has(Membership m, ServerInfo s) {
        return m.servers(s.service()).stream().anyMatch(x -> x.serverId() == s.serverId());
    }

    @Override
    public synchronized void onRejoined(NodeInfo self) {
        rejoins.add(self);
    }

    /** The view the snapshots and events so far build (null before the first snapshot). */
    synchronized Membership view() {
        return view;
    }

    synchronized List<Membership> snapshots() {
        return List.copyOf(snapshots);
    }

    /** Every event so far, in arrival order. */
    synchronized List<MembershipEvent> events() {
        return List.copyOf(events);
    }

    /** The events after the first {@code mark} (a count of events taken earlier). */
    synchronized List<MembershipEvent> eventsSince(int mark) {
        return List.copyOf(events.subList(mark, events.size()));
    }

    /** How many events have arrived, to pass to {@link #eventsSince} later. */
    synchronized int mark() {
        return events.size();
    }

    synchronized List<NodeInfo> rejoins() {
        return List.copyOf(rejoins);
    }

    /** Waits until at least {@code count} events arrived after {@code mark}, and returns those events. */
    List<MembershipEvent> awaitEventsSince(int mark, int count, Duration timeout) {
        Await.until(name + " gets " + count + " events", () -> eventsSince(mark).size() >= count, timeout,
                () -> "Got " + eventsSince(mark));
        return eventsSince(mark);
    }

    /** Waits until the view satisfies {@code condition}. */
    void awaitView(String what, Predicate<Membership> condition, Duration timeout) {
        Await.until(name + ": " + what, () -> {
            Membership m = view();
            return m != null && condition.test(m);
        }, timeout, () -> "The view is " + view());
    }

    /** Fails when the registry broke the listener contract (see the class comment). */
    void assertContractKept() {
        List<String> seen;
        synchronized (this) {
            seen = List.copyOf(violations);
        }
        assertEquals(List.of(), seen, name + " was told things out of order or that do not fit its view");
    }

    @Override
    public String toString() {
        return "MembershipRecorder[" + name + "]";
    }
}
