package dev.baton.bench;

import dev.baton.Compression;
import dev.baton.SharedMemory;
import dev.baton.shm.SharedMemoryTransport;
import dev.baton.spi.TransportFactory;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The systems the harness compares. Those with {@link #remote} true run their servers in a child JVM. Each has a
 * description per wait mode: {@code --busy-poll} changes how baton-tcp, baton-shm, aeron-ipc and raw-nio wait, and the description
 * printed and written with the numbers says so.
 */
enum SystemKind {

    BATON_TCP("baton-tcp", "Baton over TCP loopback (server nodes and master in a child JVM)",
            "Baton over TCP loopback (server nodes and master in a child JVM); I/O threads and callers spin as long as"
                    + " the nodes' settings below say", true),
    BATON_SHM("baton-shm", "Baton over shared memory (SharedMemoryTransport, REQUIRED mode, 1 MiB rings, loops poll"
            + " 50 µs after their last work; server nodes and master in a child JVM, the master reached by TCP)",
            "Baton over shared memory (SharedMemoryTransport, REQUIRED mode, 1 MiB rings; server nodes and master in a"
                    + " child JVM, the master reached by TCP); I/O threads and callers spin as long as the nodes'"
                    + " settings below say", true),
    BATON_TCP_ZSTD("baton-tcp-zstd", "Baton over TCP loopback as baton-tcp, every call compressed with zstd level 1 both"
            + " ways (baton-compression; only when named in --systems)",
            "Baton over TCP loopback as baton-tcp, every call compressed with zstd level 1 both ways (baton-compression;"
                    + " only when named in --systems)", true),
    BATON_TCP_LZ4("baton-tcp-lz4", "Baton over TCP loopback as baton-tcp, every call compressed with lz4 both ways"
            + " (baton-compression; only when named in --systems)",
            "Baton over TCP loopback as baton-tcp, every call compressed with lz4 both ways (baton-compression; only"
                    + " when named in --systems)", true),
    BATON_TLS("baton-tls", "Baton over TLS 1.3 on TCP loopback as baton-tcp, mutual authentication, EC P-256"
            + " certificates, the JDK's TLS (only when named in --systems)",
            "Baton over TLS 1.3 on TCP loopback as baton-tcp, mutual authentication, EC P-256 certificates, the JDK's"
                    + " TLS (only when named in --systems)", true),
    BATON_INPROC("baton-inproc", "Baton in-process (client, servers and master in the harness JVM)",
            "Baton in-process (client, servers and master in the harness JVM); no socket to wait on: busy-poll"
                    + " does not apply", false),
    AERON_IPC("aeron-ipc", "the same-host floor: Aeron 1.51.0 IPC ping-pong, no RPC layer (the media driver embedded as an"
            + " invoker in the pong's one thread; Aeron's backoff idle strategy; a publication and subscription per"
            + " client thread)",
            "the same-host floor: Aeron 1.51.0 IPC ping-pong, no RPC layer (the media driver embedded as an invoker in"
                    + " the pong's one thread; busy-spin idle strategy on both sides; a publication and subscription"
                    + " per client thread)", true),
    GRPC("grpc", "gRPC-java 1.85.1, netty-shaded, direct executor on both sides, unary echo of a protobuf BytesValue",
            "gRPC-java 1.85.1, netty-shaded, direct executor on both sides, unary echo of a protobuf BytesValue;"
                    + " gRPC has no busy-poll mode: it waits as always", true),
    GRPC_TLS("grpc-tls", "gRPC as grpc, over TLS 1.3 with mutual authentication: netty-shaded's SslContext on the"
            + " JDK provider, the same certificates as baton-tls (only when named in --systems)",
            "gRPC as grpc, over TLS 1.3 with mutual authentication: netty-shaded's SslContext on the JDK provider, the"
                    + " same certificates as baton-tls (only when named in --systems); no busy-poll mode", true),
    RAW_NIO("raw-nio", "the floor: raw Java NIO echo of length-prefixed messages, no framework (blocking ping-pong;"
            + " a selector loop for outstanding calls; a connection per client thread)",
            "the floor: raw Java NIO echo of length-prefixed messages, no framework (busy-poll ping-pong: client and"
                    + " server spin on non-blocking reads; a selector loop for outstanding calls; a connection per"
                    + " client thread)", true);

    final String id;
    private final String description;
    private final String busyPollDescription;
    final boolean remote;

    SystemKind(String id, String description, String busyPollDescription, boolean remote) {
        this.id = id;
        this.description = description;
        this.busyPollDescription = busyPollDescription;
        this.remote = remote;
    }

    /** What the system does in the run's wait mode. */
    String description(boolean busyPoll) {
        return busyPoll ? busyPollDescription : description;
    }

    /** True for the systems made of Baton nodes in two JVMs, whose nodes take the run's {@link BatonSettings}. */
    boolean batonNodes() {
        return this == BATON_TCP || this == BATON_SHM || this == BATON_TLS || compression() != Compression.NONE;
    }

    /** The compression a Baton system's calls ask for. */
    Compression compression() {
        return switch (this) {
            case BATON_TCP_ZSTD -> Compression.ZSTD;
            case BATON_TCP_LZ4 -> Compression.LZ4;
            default -> Compression.NONE;
        };
    }

    /** True for the systems that have streams: Baton over TCP, shared memory and in process, and gRPC. */
    boolean streams() {
        return this == BATON_TCP || this == BATON_SHM || this == BATON_TLS || this == BATON_INPROC || this == GRPC
                || this == GRPC_TLS;
    }

    /**
     * Run when no --systems are named: all but the compression variants, which only matter for bulk payloads, and
     * the TLS ones, which measure TLS's cost rather than the framework's.
     */
    boolean inDefaultRun() {
        return compression() == Compression.NONE && !tls();
    }

    /** True for the systems over TLS, whose both sides take {@link BenchTls}'s certificates. */
    boolean tls() {
        return this == BATON_TLS || this == GRPC_TLS;
    }

    /** The transport of a Baton system's nodes; for baton-tls, the harness's client side. */
    TransportFactory transport() {
        return switch (this) {
            case BATON_SHM -> SharedMemoryTransport.factory(SharedMemory.REQUIRED);
            case BATON_TLS -> TransportFactory.tls(BenchTls.harness().baton("client"));
            default -> TransportFactory.tcp();
        };
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
