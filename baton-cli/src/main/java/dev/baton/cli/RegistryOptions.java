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
                description = "Join through this ZooKeeper ensemble instead of a master.")
        String zookeeper;
    }

    /** Sets the registry of {@code builder}. */
    NodeOptions.Builder applyTo(NodeOptions.Builder builder) {
        if (where.master != null) {
            try {
                return builder.master(where.master);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(command.commandLine(), "--master: " + e.getMessage());
            }
        }
        return builder.registry(ZooKeeperRegistry.of(where.zookeeper, root()));
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
