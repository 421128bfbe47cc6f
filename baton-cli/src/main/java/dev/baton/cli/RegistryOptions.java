package dev.baton.cli;

import dev.baton.NodeOptions;
import dev.baton.zookeeper.ZooKeeperRegistry;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Where a command's node joins the cluster: a Baton master ({@code --master HOST:PORT}) or a ZooKeeper ensemble
 * ({@code --zookeeper HOST:PORT[,HOST:PORT...] [--cluster NAME]}, the cluster living under /baton/NAME). Exactly
 * one is required.
 */
final class RegistryOptions {

    /** The command this is part of, for usage errors. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    @Option(names = "--cluster", defaultValue = "default", paramLabel = "NAME",
            description = "With --zookeeper: the cluster's name; its state lives under /baton/NAME. "
                    + "Default: ${DEFAULT-VALUE}.")
    String cluster;

    static final class Where {
        @Option(names = "--master", required = true, paramLabel = "HOST:PORT", description = "The master to join.")
        String master;

        @Option(names = "--zookeeper", required = true, paramLabel = "HOST:PORT[,HOST:PORT...]",
                description = "Join through this ZooKeeper ensemble instead of a master. With the --tls-* options, "
                        + "over TLS with the same certificate: name the servers' secure client ports, and the host "
                        + "names their certificates carry.")
        String zookeeper;
    }

    /** Sets the registry of {@code builder}; a ZooKeeper ensemble is reached over TLS when {@code tls} is on. */
    NodeOptions.Builder applyTo(NodeOptions.Builder builder, TlsCliOptions tls) {
        if (where.master != null) {
            try {
                return builder.master(where.master);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(command.commandLine(), "--master: " + e.getMessage());
            }
        }
        ZooKeeperRegistry.Builder zookeeper = ZooKeeperRegistry.builder(where.zookeeper, root());
        return builder.registry((tls.enabled() ? zookeeper.tls(tls.options()) : zookeeper).build());
    }

    String root() {
        return "/baton/" + cluster;
    }

    /** For messages: what the node joins. */
    String describe() {
        return where.master != null ? "the master at " + where.master
                : "ZooKeeper at " + where.zookeeper + " (cluster " + cluster + ")";
    }
}
