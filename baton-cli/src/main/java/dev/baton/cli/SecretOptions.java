package dev.baton.cli;

import dev.baton.MasterOptions;
import dev.baton.NodeOptions;
import dev.baton.Probe;
import dev.baton.spi.ClusterSecret;
import dev.baton.spi.TransportFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * {@code --secret-file PATH}, on every command that connects to a cluster or listens for one: the cluster secret
 * every connection proves in its handshake (docs/security.md#cluster-secret); with {@code --secret-accept-file PATH},
 * a second secret accepted from peers while the cluster rotates (docs/security.md#rotating-the-secret). A file that
 * cannot be used (missing, readable by group or others, too short) is a usage error, named with the option.
 */
final class SecretOptions {

    /** The command this is part of, for usage errors. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--secret-file", paramLabel = "PATH",
            description = "The cluster secret: a file readable by its owner only (chmod 600) holding at least 16 bytes"
                    + " (e.g. head -c 32 /dev/urandom | base64 > FILE). Every connection proves it both ways; a process"
                    + " without it cannot join, call or connect. The file is read again when it changes (see"
                    + " --secret-accept-file). Default: none.")
    Path secretFile;

    @Option(names = "--secret-accept-file", paramLabel = "PATH",
            description = "A second cluster secret, accepted from peers besides the --secret-file one (which is the one"
                    + " this process proves): the next or previous secret while a cluster rotates it. Read like"
                    + " --secret-file. Both files are read again when they change (checked at most every 10 s, for new"
                    + " connections). Default: none.")
    Path acceptFile;

    private ClusterSecret secret;

    /** The secret, read once and then following its files; null without {@code --secret-file}. */
    ClusterSecret secret() {
        if (acceptFile != null && secretFile == null) {
            throw new CommandLine.ParameterException(command.commandLine(),
                    "--secret-accept-file needs --secret-file (the secret this process proves)");
        }
        if (secretFile != null && secret == null) {
            if (acceptFile != null) {
                read("--secret-accept-file", acceptFile);
            }
            read("--secret-file", secretFile);
            secret = ClusterSecret.fromFiles(secretFile, acceptFile, ClusterSecret.DEFAULT_RELOAD_INTERVAL);
        }
        return secret;
    }

    /** Checks that {@code file} holds a usable secret; a usage error naming {@code option} if not. */
    private void read(String option, Path file) {
        try {
            ClusterSecret.read(file);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(command.commandLine(), option + ": " + e.getMessage());
        }
    }

    NodeOptions.Builder applyTo(NodeOptions.Builder builder) {
        return builder.clusterSecret(secret());
    }

    MasterOptions.Builder applyTo(MasterOptions.Builder builder) {
        return builder.clusterSecret(secret());
    }

    /** A probe over {@code transport} whose connections prove the secret, if there is one. */
    Probe probe(TransportFactory transport) {
        return Probe.over(transport.withClusterSecret(secret()));
    }

    /**
     * Warns on {@code err}, once, when {@code what} listens beyond this host with nothing that authenticates its
     * peers: no cluster secret and no TLS ({@code tls}).
     */
    void warnIfUnauthenticated(String what, InetSocketAddress bind, InetSocketAddress listening, boolean tls,
                               PrintWriter err) {
        boolean authenticated = secretFile != null || tls;
        InetAddress a = bind.getAddress();
        if (authenticated || a == null || a.isLoopbackAddress()) {
            return;
        }
        err.println("warning: " + what + " listens on " + BatonCli.hostPort(listening) + " with no cluster secret and no"
                + " TLS: any process that reaches this port can join the cluster and call its services"
                + " (see --secret-file and --tls-cert)");
        err.flush();
    }
}
