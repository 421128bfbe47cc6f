package dev.baton.internal.rpc;

import dev.baton.Membership;
import dev.baton.MembershipEvent;
import dev.baton.NodeInfo;
import dev.baton.ServerInfo;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The events that turn one membership view into another, for listeners told about a whole snapshot. */
final class MembershipDiff {

    private MembershipDiff() {
    }

    static List<MembershipEvent> between(Membership before, Membership after) {
        long v = after.version();
        List<MembershipEvent> out = new ArrayList<>();
        Set<ServerInfo> oldServers = servers(before);
        Set<ServerInfo> newServers = servers(after);
        for (ServerInfo s : oldServers) {
            if (!newServers.contains(s)) {
                out.add(new MembershipEvent.ServerRemoved(v, s));
            }
        }
        for (NodeInfo n : before.nodes()) {
            if (!after.nodes().contains(n)) {
                out.add(new MembershipEvent.NodeLeft(v, n));
            }
        }
        for (NodeInfo n : after.nodes()) {
            if (!before.nodes().contains(n)) {
                out.add(new MembershipEvent.NodeJoined(v, n));
            }
        }
        for (ServerInfo s : newServers) {
            if (!oldServers.contains(s)) {
                out.add(new MembershipEvent.ServerAdded(v, s));
            }
        }
        return out;
    }

    private static Set<ServerInfo> servers(Membership m) {
        Set<ServerInfo> all = new HashSet<>();
        for (String service : m.services()) {
            all.addAll(m.servers(service));
        }
        return all;
    }
}
