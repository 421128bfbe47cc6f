package dev.baton.cli;

import dev.baton.Master;
import dev.baton.zookeeper.LocalZooKeeper;
import dev.baton.zookeeper.ZooKeeperRegistry;
import dev.baton.Node;
import dev.baton.NodeOptions;
import dev.baton.accumulator.AccumulatorOptions;
import dev.baton.accumulator.Accumulators;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code baton accumulators}: a table, JSON, an empty cluster, an unreachable master. */
@Timeout(60)
class AccumulatorsCommandTest {

    private record Run(int exitCode, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new AccumulatorsCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** A master and one node with a few accumulators, flushed. */
    private static void withCluster(java.util.function.Consumer<Master> test) {
        try (Master master = Master.start(0);
             Node node = Node.join(NodeOptions.builder().master(master.address()).build());
             Accumulators acc = Accumulators.attach(node, AccumulatorOptions.builder()
                     .electionDelay(Duration.ofMillis(10)).build())) {
            acc.longSum("bytes").write(1234);
            acc.doubleMax("best").write(-0.5);
            acc.average("loss").write(1);
            acc.average("loss").write(2);
            acc.timer("step").record(10);
            acc.timer("step").record(30);
            acc.doubleMin("empty");
            acc.awaitFlushed(Duration.ofSeconds(20));
            test.accept(master);
        }
    }

    @Test
    void printsATableSortedByName() {
        withCluster(master -> {
            Run r = run("--master", hostPort(master.address()));
            assertEquals(0, r.exitCode(), r.err());
            assertEquals("""
                    NAME   TYPE        VALUE
                    best   double-max  -0.5
                    bytes  long-sum    1234
                    empty  double-min  Infinity
                    loss   average     1.5 (n=2)
                    step   timer       count=2 mean=20ns p50=10ns p90=30ns p99=30ns p999=30ns max=30ns
                    """, r.out());
        });
    }

    @Test
    void printsJson() {
        withCluster(master -> {
            Run r = run("--master", hostPort(master.address()), "--json");
            assertEquals(0, r.exitCode(), r.err());
            assertEquals("""
                    {"accumulators":[
                      {"name":"best","type":"double-max","value":-0.5,"rendered":"-0.5"},
                      {"name":"bytes","type":"long-sum","value":1234,"rendered":"1234"},
                      {"name":"empty","type":"double-min","value":"Infinity","rendered":"Infinity"},
                      {"name":"loss","type":"average","count":2,"sum":3.0,"mean":1.5,"rendered":"1.5 (n=2)"},
                      {"name":"step","type":"timer","count":2,"total":40.0,"mean":20.0,"variance":100.0,"min":10,"max":30,"unit":"ns","p50":10,"p90":30,"p99":30,"p999":30,"rendered":"count=2 mean=20ns p50=10ns p90=30ns p99=30ns p999=30ns max=30ns"}
                    ]}
                    """, r.out());
        });
    }

    @Test
    void aClusterWithoutAccumulatorsPrintsNothingAndSucceeds() {
        try (Master master = Master.start(0)) {
            Run table = run("--master", hostPort(master.address()));
            assertEquals(0, table.exitCode(), table.err());
            assertEquals("no accumulators\n", table.out());
            assertTrue(table.err().contains("no accumulator server"), table.err());
            Run json = run("--master", hostPort(master.address()), "--json");
            assertEquals("{\"accumulators\":[]}\n", json.out());
        }
    }

    @Test
    void runsTakeNoRank() {
        withCluster(master -> {
            for (int i = 0; i < 3; i++) {
                assertEquals(0, run("--master", hostPort(master.address())).exitCode());
            }
            assertEquals(1, master.membership().nodes().size(), "the runs never joined");
            try (Node next = Node.join(NodeOptions.builder().master(master.address()).build())) {
                assertEquals(1, next.rank(), "after three runs the next node is still rank 1");
            }
        });
    }

    @Test
    void anUnreachableMasterFails() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Run r = run("--master", "127.0.0.1:" + port, "--timeout", "2");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains("127.0.0.1:" + port), r.err());
    }

    @Test
    void theBatonCommandLineRunsItAndReportsAFailureOnOneLine() throws Exception {
        try (Master master = Master.start(0)) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = BatonCli.newCommandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                    .execute("accumulators", "--master", hostPort(master.address()));
            assertEquals(0, code, err::toString);
            assertEquals("no accumulators\n", out.toString());
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        StringWriter err = new StringWriter();
        int code = BatonCli.newCommandLine().setErr(new PrintWriter(err, true))
                .execute("accumulators", "--master", "127.0.0.1:" + port, "--timeout", "2");
        assertEquals(1, code, err::toString);
        assertTrue(err.toString().startsWith("baton accumulators: ") && err.toString().contains("127.0.0.1:" + port)
                && err.toString().strip().lines().count() == 1, err::toString);
    }

    @Test
    void theMasterOrZooKeeperOptionIsRequired() {
        Run r = run();
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--master") && r.err().contains("--zookeeper"), r.err());
    }

    @Test
    void readsTheAccumulatorsOfAClusterJoinedThroughZooKeeper() throws Exception {
        try (LocalZooKeeper zk = new LocalZooKeeper(1, Duration.ofMillis(200))) {
            zk.startAll();
            try (Node node = Node.join(NodeOptions.builder()
                         .registry(ZooKeeperRegistry.of(zk.connectString(), "/baton/acc-test")).build());
                 Accumulators acc = Accumulators.attach(node, AccumulatorOptions.builder()
                         .electionDelay(Duration.ofMillis(10)).build())) {
                acc.longSum("bytes").write(1234);
                acc.awaitFlushed(Duration.ofSeconds(20));
                Run r = run("--zookeeper", zk.connectString(), "--cluster", "acc-test");
                assertEquals(0, r.exitCode(), r.err());
                assertEquals("NAME   TYPE      VALUE\nbytes  long-sum  1234\n", r.out());
            }
        }
    }
}
