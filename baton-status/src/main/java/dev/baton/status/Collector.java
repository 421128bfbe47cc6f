package dev.baton.status;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.baton.BatonException;
import dev.baton.Master;
import dev.baton.Node;
import dev.baton.NodeInfo;
import dev.baton.NodeOptions;
import dev.baton.NodeStatus;
import dev.baton.Probe;
import dev.baton.accumulator.AccumulatorValue;
import dev.baton.accumulator.Accumulators;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;

/**
 * Samples the cluster every interval on a thread of its own ({@code baton-status-collector}): the membership and
 * the coordination state from the master, each node's status through the probe, the accumulators through an
 * observer node (started on first need, again after a failure). Each sample becomes the latest status
 * document, one chart point kept for the history, and one event to every open stream.
 */
final class Collector implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Collector.class.getName());
    private static final Gson GSON = new Gson();

    private final Master master;
    private final Probe probe;
    private final Duration interval;
    private final Duration askTimeout;
    private final int maxPoints;
    private final EventStreams streams;
    private final Thread thread;

    // ---- guarded by this
    private final ArrayDeque<JsonObject> points = new ArrayDeque<>();
    private String latest;
    private boolean closed;

    // ---- the collector thread's
    private ClusterSample previous;
    private Node observer;

    Collector(Master master, Probe probe, Duration interval, Duration history, EventStreams streams) {
        this.master = master;
        this.probe = probe;
        this.interval = interval;
        this.askTimeout = interval.compareTo(Duration.ofSeconds(2)) < 0 ? interval : Duration.ofSeconds(2);
        this.maxPoints = (int) Math.max(2, history.toMillis() / interval.toMillis());
        this.streams = streams;
        this.thread = Thread.ofPlatform().daemon(true).name("baton-status-collector").unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** The latest status document (JSON); an empty cluster's before the first sample. */
    synchronized String latest() {
        if (latest == null) {
            JsonObject empty = new JsonObject();
            empty.addProperty("time", System.currentTimeMillis());
            empty.add("nodes", new JsonArray());
            empty.add("services", new JsonArray());
            return GSON.toJson(empty);
        }
        return latest;
    }

    /** The chart points of the history, oldest first (JSON). */
    synchronized String history() {
        JsonObject o = new JsonObject();
        o.addProperty("intervalMs", interval.toMillis());
        JsonArray a = new JsonArray();
        points.forEach(a::add);
        o.add("points", a);
        return GSON.toJson(o);
    }

    private void run() {
        long next = System.nanoTime();
        while (!isClosed()) {
            try {
                sample();
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "status page: a sample failed: {0}", e.toString());
            }
            next += interval.toNanos();
            long wait = next - System.nanoTime();
            if (wait < 0) {
                next = System.nanoTime();       // fell behind (slow nodes): no burst to catch up
                continue;
            }
            try {
                Thread.sleep(Duration.ofNanos(wait));
            } catch (InterruptedException e) {
                break;
            }
        }
        closeObserver();
    }

    private void sample() throws InterruptedException {
        ClusterSample now = ClusterSample.take(master.membership(), master.leaseAges(), probe, askTimeout);
        JsonObject doc = StatusJson.cluster(now, previous);
        doc.addProperty("time", now.takenAtMs());
        doc.addProperty("master", StatusJson.hostPort(master.address()));
        doc.addProperty("sampleIntervalMs", interval.toMillis());
        doc.add("coordination", StatusJson.coordination(master.coordinationState()));
        accumulators(now, doc);
        JsonObject point = point(now);
        doc.add("point", point);
        String json = GSON.toJson(doc);
        previous = now;
        synchronized (this) {
            if (closed) {
                return;
            }
            latest = json;
            points.addLast(point);
            while (points.size() > maxPoints) {
                points.removeFirst();
            }
        }
        streams.publish(json);
    }

    /** The chart point of a sample: each node's call rate and p99 over the interval (null when unknown). */
    private JsonObject point(ClusterSample now) {
        JsonObject p = new JsonObject();
        p.addProperty("time", now.takenAtMs());
        JsonArray nodes = new JsonArray();
        for (NodeInfo n : now.membership().nodes()) {
            JsonObject o = new JsonObject();
            o.addProperty("nodeId", Long.toUnsignedString(n.nodeId(), 16));
            o.addProperty("rank", n.rank());
            o.addProperty("name", n.name());
            NodeStatus s = now.statuses().get(n.rank());
            NodeInterval iv = s == null ? null
                    : NodeInterval.between(s, previous == null ? null : previous.statuses().get(n.rank()));
            if (iv != null && iv.hasRates()) {
                o.addProperty("callsPerSecond", iv.callsPerSecond());
                if (iv.latency().count() > 0) {
                    o.addProperty("p99Us", iv.latency().percentile(99).toNanos() / 1e3);
                }
            }
            nodes.add(o);
        }
        p.add("nodes", nodes);
        return p;
    }

    /** The accumulators' values, when the cluster has an accumulator server; or why they could not be read. */
    private void accumulators(ClusterSample now, JsonObject doc) {
        JsonArray values = new JsonArray();
        if (now.membership().servers(Accumulators.SERVICE).isEmpty()) {
            doc.add("accumulators", values);
            return;
        }
        try {
            if (observer == null) {
                observer = Node.observe(NodeOptions.builder().master(master.address()).name("baton-status-page")
                        .joinTimeout(askTimeout).defaultTimeout(askTimeout).drainTimeout(Duration.ZERO).build());
            }
            Map<String, AccumulatorValue> read = Accumulators.readAll(observer, askTimeout);
            read.values().forEach(v -> values.add(StatusJson.accumulator(v)));
        } catch (BatonException e) {
            doc.addProperty("accumulatorsError", e.getMessage());
            if (e.code() == dev.baton.Status.Code.CLOSED) {
                closeObserver();
            }
        }
        doc.add("accumulators", values);
    }

    private void closeObserver() {
        Node o = observer;
        observer = null;
        if (o != null) {
            o.close();
        }
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
