package dev.baton.bench;

import dev.baton.BatonException;
import dev.baton.Client;
import dev.baton.ClientStream;
import dev.baton.Compression;
import dev.baton.Master;
import dev.baton.Message;
import dev.baton.Node;
import dev.baton.micrometer.BatonNodeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.baton.NodeOptions;
import dev.baton.ResponseListener;
import dev.baton.Server;
import dev.baton.spi.TransportFactory;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Baton's client side: a client node joined to the master, calling service {@value #SERVICE}. In process, the
 * master and the servers live on the same node as the client, and calls never touch a socket.
 */
final class BatonTarget implements Target {

    static final String SERVICE = "echo";
    static final int METHOD = 0;
    static final int STREAM = 1;
    private static final Duration SETUP_TIMEOUT = Duration.ofSeconds(30);

    private final Master master;           // in process only
    private final List<Server> servers;    // in process only
    private final Node node;
    private final Client client;
    private final Workload workload;
    private final ByteBuffer request;
    private final BatonNodeMetrics metrics;     // null unless --metrics
    private final List<ClientStream> streams = new ArrayList<>();

    private BatonTarget(Master master, List<Server> servers, Node node, Workload workload, boolean metrics,
                        Compression compression) {
        if (metrics) {
            this.metrics = new BatonNodeMetrics(node);
            this.metrics.bindTo(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        } else {
            this.metrics = null;
        }
        this.master = master;
        this.servers = servers;
        this.node = node;
        Client c = node.client(SERVICE);
        this.client = compression == Compression.NONE ? c : c.withOptions(c.options().withCompression(compression));
        this.workload = workload;
        // Sent from in place and never moved or modified: every call and every slot shares it.
        this.request = ByteBuffer.allocateDirect(workload.payloadBytes).put(workload.payload()).flip();
    }

    /**
     * The echo server of every Baton node in a benchmark: answers inline, on the thread that read the request; and
     * method {@value #STREAM}, a server stream of messages of the size its first message names, sent until the
     * caller goes away.
     */
    static Server serveEcho(Node node) {
        return node.newServer(SERVICE).inline(METHOD, call -> call.reply(call.request()))
                .stream(STREAM, stream -> {
                    int size;
                    try (Message m = stream.receive()) {
                        size = m.getInt(0);
                    }
                    ByteBuffer message = ByteBuffer.allocate(size);
                    while (!stream.call().isCancelled()) {
                        stream.send(message);       // waits for the caller's window; throws once it is gone
                    }
                })
                .start(SETUP_TIMEOUT);
    }

    /** Joins the master of a child JVM's server nodes. */
    static BatonTarget remote(InetSocketAddress masterAddress, Workload w, BatonSettings settings,
                              TransportFactory transport, Compression compression) throws Exception {
        Node node = Node.join(settings.apply(NodeOptions.builder().master(masterAddress).name("bench-client"))
                .transport(transport).build());
        return ready(new BatonTarget(null, List.of(), node, w, settings.metrics(), compression));
    }

    /** Master, servers and client in this JVM, on one node: every call takes the in-process path. */
    static BatonTarget inProcess(Workload w, BatonSettings settings) throws Exception {
        Master master = Master.start(0);
        Node node = null;
        List<Server> servers = new ArrayList<>();
        try {
            node = Node.join(NodeOptions.builder().master(master.address()).name("bench-inproc")
                    .transport(TransportFactory.tcp()).build());
            for (int i = 0; i < w.servers; i++) {
                servers.add(serveEcho(node));
            }
            return ready(new BatonTarget(master, servers, node, w, settings.metrics(), Compression.NONE));
        } catch (Exception | Error e) {
            if (node != null) {
                node.close();
            }
            master.close();
            throw e;
        }
    }

    private static BatonTarget ready(BatonTarget t) throws Exception {
        try {
            t.client.awaitServers(t.workload.servers, SETUP_TIMEOUT);
            try (Message m = t.client.call(METHOD, t.request)) {
                Target.checkEcho(t.workload.payloadBytes, m.size());
            }
            return t;
        } catch (Exception | Error e) {
            t.close();
            throw e;
        }
    }

    @Override
    public Lane lane(int index) {
        int expected = workload.payloadBytes;
        if (workload.stream) {
            ClientStream stream = client.openStream(STREAM, client.options().withTimeout(Duration.ofHours(1)));
            streams.add(stream);
            stream.send(ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, expected));
            return Lane.sequential(() -> {
                try (Message m = stream.receive()) {
                    Target.checkEcho(expected, m.size());
                }
            });
        }
        if (workload.sequential()) {
            return Lane.sequential(() -> {
                try (Message m = client.call(METHOD, request)) {
                    Target.checkEcho(expected, m.size());
                }
            });
        }
        return new Lane.Async(workload.depth) {
            @Override
            protected Slot newSlot() {
                return new BatonSlot(this, expected);
            }

            @Override
            protected void start(Slot slot) {
                client.call(METHOD, request, (BatonSlot) slot);
            }
        };
    }

    /**
     * The slot is its own response listener (Baton's allocation-free way to call), so issuing a call allocates
     * only what Baton allocates.
     */
    private static final class BatonSlot extends Lane.Async.Slot implements ResponseListener {
        private final int expected;

        BatonSlot(Lane.Async lane, int expected) {
            super(lane);
            this.expected = expected;
        }

        @Override
        public void onResponse(Message m) {
            int size = m.size();
            done(size == expected ? null
                    : new IllegalStateException("echo returned " + size + " bytes, expected " + expected));
        }

        @Override
        public void onFailure(BatonException error) {
            done(error);
        }
    }

    @Override
    public void close() {
        for (ClientStream s : streams) {
            s.cancel();
        }
        if (metrics != null) {
            metrics.close();
        }
        for (Server s : servers) {
            s.close();
        }
        node.close();
        if (master != null) {
            master.close();
        }
    }
}
