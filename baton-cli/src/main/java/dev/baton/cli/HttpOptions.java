package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

import java.net.InetSocketAddress;

/**
 * {@code --http-port} and {@code --http-host} of the daemons ({@code master}: its status page and metrics;
 * {@code node}: its metrics). Off unless a port is given; loopback unless a host is.
 */
final class HttpOptions {

    @Option(names = "--http-port", paramLabel = "PORT",
            description = "Also serve HTTP on this port (the master: its status page, JSON and /metrics; a node: "
                    + "/metrics and /healthz); 0 picks a free one. Off by default.")
    Integer port;

    @Option(names = "--http-host", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address the HTTP port listens on. Default: ${DEFAULT-VALUE}.")
    String host;

    boolean enabled() {
        return port != null;
    }

    /** Where to serve; a usage error for a port out of range. */
    InetSocketAddress bind(CommandSpec spec) {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--http-port must be between 0 and 65535, was "
                    + port);
        }
        return new InetSocketAddress(host, port);
    }
}
