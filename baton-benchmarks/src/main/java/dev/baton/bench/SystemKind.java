package dev.baton.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The systems the harness compares. Those with {@link #remote} true run their servers in a child JVM. */
enum SystemKind {

    BATON_TCP("baton-tcp", "Baton over TCP loopback (server nodes and master in a child JVM)", true),
    BATON_INPROC("baton-inproc", "Baton in-process (client, servers and master in the harness JVM)", false),
    GRPC("grpc", "gRPC-java 1.85.1, netty-shaded, direct executor on both sides, unary echo of a protobuf BytesValue",
            true),
    RAW_NIO("raw-nio", "the floor: raw Java NIO echo of length-prefixed messages, no framework (blocking ping-pong;"
            + " a selector loop for outstanding calls; a connection per client thread)", true);

    final String id;
    final String description;
    final boolean remote;

    SystemKind(String id, String description, boolean remote) {
        this.id = id;
        this.description = description;
        this.remote = remote;
    }

    static SystemKind byId(String id) {
        for (SystemKind s : values()) {
            if (s.id.equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown system '" + id + "'; known: " + ids());
    }

    static String ids() {
        return Arrays.stream(values()).map(s -> s.id).collect(Collectors.joining(", "));
    }
}
