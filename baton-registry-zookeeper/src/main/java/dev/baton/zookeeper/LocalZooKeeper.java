package dev.baton.zookeeper;

import dev.baton.TlsOptions;
import dev.baton.process.ChildJvm;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;

/**
 * A ZooKeeper server, or an ensemble of several, on loopback, each member a separate JVM
 * ({@code ZooKeeperServerMain} or {@code QuorumPeerMain} from this JVM's class path): for {@code bin/baton demo
 * --zookeeper}, benchmarks and tests, where a real ZooKeeper is wanted without installing one. Every member has
 * its own port and data directory, so it can be killed ({@link #kill}) and started again ({@link #start}) with
 * its state. {@link #close} stops every member and deletes the data.
 *
 * <p>With {@link #tls}, members serve only secure client ports, over TLS, and require every client's certificate
 * (ZooKeeper's X.509 authentication provider makes its subject the client's identity in ACLs); the members of an
 * ensemble talk to each other over TLS too ({@code sslQuorum}), with the same certificate.
 *
 * <p>Not for production: use a real ensemble on separate machines.
 */
public final class LocalZooKeeper implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final int tickMs;
    private final Path dir;
    private final int[] clientPorts;
    private final int[] quorumPorts;
    private final int[] electionPorts;
    private final ChildJvm[] members;
    private ZkTlsStores tls;
    private SSLContext probeContext;

    /**
     * Prepares {@code size} members (1: a standalone server; 3 or 5: an ensemble) with ZooKeeper's tick of
     * {@code tick} (sessions may then last 2 to 20 ticks). Nothing runs until {@link #startAll}.
     */
    public LocalZooKeeper(int size, Duration tick) throws IOException {
        if (size < 1) {
            throw new IllegalArgumentException("size must be at least 1: " + size);
        }
        this.tickMs = (int) tick.toMillis();
        this.dir = Files.createTempDirectory("baton-zookeeper-");
        this.clientPorts = freePorts(size);
        this.quorumPorts = size > 1 ? freePorts(size) : new int[0];
        this.electionPorts = size > 1 ? freePorts(size) : new int[0];
        this.members = new ChildJvm[size];
    }

    /** "127.0.0.1:P1,127.0.0.1:P2,..." for {@link ZooKeeperRegistry#of}. */
    public String connectString() {
        List<String> hosts = new ArrayList<>();
        for (int port : clientPorts) {
            hosts.add("127.0.0.1:" + port);
        }
        return String.join(",", hosts);
    }

    public int size() {
        return members.length;
    }

    /**
     * Members started after this serve TLS with {@code options} (this side's certificate, the CAs whose clients it
     * admits) on their client ports, which then speak nothing else. Give clients
     * {@link ZooKeeperRegistry.Builder#tls}. The options' files are read now; a file that cannot be used fails with
     * INVALID_ARGUMENT, options without a certificate of their own with IllegalArgumentException.
     */
    public synchronized LocalZooKeeper tls(TlsOptions options) {
        if (!options.hasIdentity()) {
            throw new IllegalArgumentException("a ZooKeeper server needs a certificate of its own: " + options);
        }
        if (tls != null) {
            tls.close();
        }
        tls = ZkTlsStores.in(dir, options);
        probeContext = ZkTlsStores.clientContext(options);
        return this;
    }

    /** Starts every member and returns once each serves clients (an ensemble: once it has a leader). */
    public void startAll() throws IOException, InterruptedException {
        for (int i = 0; i < members.length; i++) {
            launch(i);
        }
        for (int i = 0; i < members.length; i++) {
            awaitServing(i);
        }
    }

    /**
     * Starts member {@code i} (again), with the data it had, and returns once it serves clients (a member of an
     * ensemble needs a quorum for that).
     */
    public void start(int i) throws IOException, InterruptedException {
        launch(i);
        awaitServing(i);
    }

    /** SIGKILL of member {@code i}: no goodbye to clients or to the other members. */
    public void kill(int i) throws InterruptedException {
        if (members[i] != null) {
            members[i].kill();
            members[i] = null;
        }
    }

    public boolean isRunning(int i) {
        return members[i] != null && members[i].isAlive();
    }

    /**
     * What member {@code i} says it is ("leader", "follower", "standalone"), from its {@code srvr} command; empty
     * when it does not answer or serves no clients (no quorum).
     */
    public String mode(int i) {
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPorts[i]), 1_000);
            plain.setSoTimeout(2_000);
            SSLContext context = probeContext();
            Socket s = context == null ? plain : context.getSocketFactory().createSocket(plain,
                    InetAddress.getLoopbackAddress().getHostAddress(), clientPorts[i], true);
            s.getOutputStream().write("srvr".getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            for (String line : answer.split("\n")) {
                if (line.startsWith("Mode: ")) {
                    return line.substring("Mode: ".length()).trim();
                }
            }
        } catch (IOException e) {
            // down, or not serving
        }
        return "";
    }

    /** The member that leads the ensemble now, waiting up to {@code timeout} for one. */
    public int leader(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < members.length; i++) {
                if (isRunning(i) && mode(i).equals(members.length > 1 ? "leader" : "standalone")) {
                    return i;
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no ZooKeeper member leads after " + timeout);
    }

    /** Member {@code i}'s state and last lines of output, for failure messages. */
    public String describe(int i) {
        return members[i] == null ? "member " + (i + 1) + " is not running" : members[i].describe();
    }

    private void launch(int i) throws IOException {
        if (isRunning(i)) {
            return;
        }
        Path data = dir.resolve("member-" + (i + 1));
        Files.createDirectories(data);
        List<String> config = new ArrayList<>(List.of(
                "dataDir=" + data,
                "tickTime=" + tickMs,
                "initLimit=20",
                "syncLimit=10",
                "admin.enableServer=false",
                "4lw.commands.whitelist=srvr"));
        config.addAll(clientPortConfig(i));
        String main = "org.apache.zookeeper.server.ZooKeeperServerMain";
        if (members.length > 1) {
            main = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
            Files.writeString(data.resolve("myid"), Integer.toString(i + 1));
            for (int m = 0; m < members.length; m++) {
                config.add("server." + (m + 1) + "=127.0.0.1:" + quorumPorts[m] + ":" + electionPorts[m]);
            }
        }
        Path file = dir.resolve("zoo-" + (i + 1) + ".cfg");
        Files.write(file, config);
        members[i] = ChildJvm.builder("zookeeper-" + (i + 1), main)
                .jvmOptions(List.of("-Xmx256m", "-XX:+UseSerialGC"))
                .args(file.toString())
                .keepLines(200)
                .stopGrace(Duration.ofMillis(100), Duration.ofSeconds(5))   // it ignores stdin: go to SIGTERM
                .start();
    }

    /** The lines of zoo.cfg that say where and how member {@code i} serves clients. */
    private synchronized List<String> clientPortConfig(int i) {
        if (tls == null) {
            return List.of("clientPort=" + clientPorts[i], "clientPortAddress=127.0.0.1");
        }
        List<String> lines = new ArrayList<>(List.of(
                "secureClientPort=" + clientPorts[i],
                "secureClientPortAddress=127.0.0.1",
                "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
                "authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "ssl.clientAuth=need"));
        tls.settings("ssl.").forEach((k, v) -> lines.add(k + "=" + v));
        if (members.length > 1) {       // the members' own traffic too, with the same certificate
            lines.add("sslQuorum=true");
            tls.settings("ssl.quorum.").forEach((k, v) -> lines.add(k + "=" + v));
        }
        return lines;
    }

    private synchronized SSLContext probeContext() {
        return probeContext;
    }

    /** Until member {@code i} says it is a leader, a follower or a standalone server. */
    private void awaitServing(int i) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (mode(i).isEmpty()) {
            if (!isRunning(i)) {
                throw new IOException("ZooKeeper member " + (i + 1) + " exited: " + members[i].describe());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("ZooKeeper member " + (i + 1) + " did not serve within " + START_TIMEOUT
                        + ": " + members[i].describe());
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws IOException {
        List<ChildJvm> running = new ArrayList<>();
        for (ChildJvm m : members) {
            if (m != null) {
                running.add(m);
            }
        }
        ChildJvm.stopAll(running, note -> { });
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static int[] freePorts(int count) throws IOException {
        int[] ports = new int[count];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }
}
