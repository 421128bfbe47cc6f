package dev.baton.bench;

import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeOptions;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The server JVM of the TCP systems, started by the harness ({@link ServerProcess}) with the harness's own JVM
 * flags and class path, so that client and server do not share a heap. Line commands on stdin, answers on
 * stdout (diagnostics go to stderr):
 *
 * <pre>
 * start SYSTEM COUNT IO_SPIN_NS CALLER_SPIN_NS LANES IO_THREADS BUSY TLS_DIR   ->  READY HOST:PORT [HOST:PORT...]  |  ERROR message
 * stop                                                ->  STOPPED
 * </pre>
 *
 * For {@code baton-tcp} and {@code baton-shm} the one address is the master's (with COUNT server nodes joined to it); for
 * {@code grpc} and {@code raw-nio} the COUNT servers' own. The spin values (-1: default) apply to Baton's
 * nodes; in busy-poll mode the harness sends them already set to spin. BUSY is the wait mode, 1 for busy-poll
 * ({@code --busy-poll}), 0 otherwise: it applies to {@code raw-nio}, whose servers then spin on non-blocking
 * reads ({@link RawEchoServer}). The process stops its servers and exits when stdin closes, so it never outlives
 * the harness.
 */
public final class BenchServer {

    private BenchServer() {
    }

    public static void main(String[] args) throws Exception {
        BenchMain.quietBatonLogs();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Servers running = null;
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+");
            switch (f[0]) {
                case "start" -> {
                    if (running != null) {
                        running.close();
                        running = null;
                    }
                    try {
                        if (f.length != 9) {
                            throw new IllegalArgumentException("expected start SYSTEM COUNT IO_SPIN_NS CALLER_SPIN_NS"
                                    + " LANES IO_THREADS BUSY TLS_DIR, got '" + line + "'");
                        }
                        running = start(SystemKind.byId(f[1]), Integer.parseInt(f[2]),
                                BatonSettings.fromArgs(f[3], f[4], f[5], f[6]), busy(f[7]),
                                f[8].equals("-") ? null : BenchTls.at(java.nio.file.Path.of(f[8])));
                        out.println("READY " + running.addresses.stream()
                                .map(a -> a.getHostString() + ":" + a.getPort()).collect(Collectors.joining(" ")));
                    } catch (Exception | Error e) {
                        e.printStackTrace();
                        out.println("ERROR " + String.valueOf(e).replace('\n', ' '));
                    }
                }
                case "stop" -> {
                    if (running != null) {
                        running.close();
                        running = null;
                    }
                    out.println("STOPPED");
                }
                default -> out.println("ERROR unknown command '" + line + "'");
            }
        }
        if (running != null) {
            running.close();
        }
        // gRPC's shared event loops linger for a while after their last user; the harness is gone already.
        System.exit(0);
    }

    /** Started servers and how to stop them, in reverse order of start. */
    private static final class Servers implements AutoCloseable {
        final List<InetSocketAddress> addresses = new ArrayList<>();
        final List<AutoCloseable> resources = new ArrayList<>();

        @Override
        public void close() {
            for (int i = resources.size() - 1; i >= 0; i--) {
                try {
                    resources.get(i).close();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }
            resources.clear();
        }
    }

    /** The BUSY field of {@code start}: 1 for busy-poll, 0 for the default wait mode. */
    private static boolean busy(String field) {
        return switch (field) {
            case "1" -> true;
            case "0" -> false;
            default -> throw new IllegalArgumentException("BUSY must be 0 or 1, not '" + field + "'");
        };
    }

    private static Servers start(SystemKind system, int count, BatonSettings baton, boolean busyPoll, BenchTls tls)
            throws Exception {
        Servers s = new Servers();
        try {
            switch (system) {
                case BATON_TCP, BATON_SHM, BATON_TCP_ZSTD, BATON_TCP_LZ4, BATON_TLS -> {
                    Master master = tls != null
                            ? Master.start(dev.baton.MasterOptions.builder().tls(tls.baton("server")).build())
                            : Master.start(0);
                    s.resources.add(master);
                    s.addresses.add(master.address());
                    for (int i = 0; i < count; i++) {
                        NodeOptions.Builder options = baton.apply(NodeOptions.builder().master(master.address())
                                .name("bench-server-" + i));
                        // TLS on every connection: the system measures TLS, not the shared memory a TLS node
                        // would use for a neighbour on this host.
                        Node node = Node.join((tls != null ? options.tls(tls.baton("server"))
                                .sharedMemory(dev.baton.SharedMemory.DISABLED)
                                : options.transport(system.transport())).build());
                        s.resources.add(node);
                        BatonTarget.serveEcho(node);
                    }
                }
                case AERON_IPC -> {
                    AeronEcho echo = AeronEcho.start(count, busyPoll);
                    s.resources.add(echo);
                    // Aeron needs no address: the client finds the driver's directory by the harness's pid.
                    for (int i = 0; i < count; i++) {
                        s.addresses.add(new InetSocketAddress("127.0.0.1", 0));
                    }
                }
                case GRPC, GRPC_TLS -> {
                    for (int i = 0; i < count; i++) {
                        io.grpc.Server server = GrpcEcho.start(tls != null ? tls.grpcServer() : null);
                        s.resources.add(() -> {
                            server.shutdownNow();
                            server.awaitTermination(5, TimeUnit.SECONDS);
                        });
                        s.addresses.add(new InetSocketAddress("127.0.0.1", server.getPort()));
                    }
                }
                case RAW_NIO -> {
                    for (int i = 0; i < count; i++) {
                        RawEchoServer server = RawEchoServer.start(busyPoll);
                        s.resources.add(server);
                        s.addresses.add(server.address());
                    }
                }
                case BATON_INPROC -> throw new IllegalArgumentException("baton-inproc has no server JVM");
            }
            return s;
        } catch (Exception | Error e) {
            s.close();
            throw e;
        }
    }
}
