package dev.baton.zookeeper;

import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.ZooKeeper;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The key/value context of {@link ZkCoordination}: values, and the change log that watches read.
 *
 * <h2>Values</h2>
 * The value of KEY is the znode {@code BASE/kv/kKEY}, present while the key is set. A value of at most
 * {@link ZkValues#INLINE_MAX} bytes is stored in it; a larger one (up to 1 MiB, which no ZooKeeper request can
 * carry whole: its default {@code jute.maxbuffer} is 1 MiB - 1 byte, on servers too) is first written as a blob of
 * chunks under {@code BASE/blobs/UUID/}, and the key's znode then refers to it ({@link ZkValues}). When the key is
 * set again or deleted, its old blob is deleted; a reader that finds a chunk gone reads the key again.
 *
 * <h2>Change log</h2>
 * Every put and every delete that removes a key writes, in the same transaction as the key's znode, a change
 * record: a persistent sequential znode {@code BASE/log/rKIB_BLOB-SEQ} (KIB: its size in KiB, rounded up; BLOB:
 * empty, or the id of the blob that holds its value), with data {@code 'P' KEYLENGTH KEY VALUE} or
 * {@code 'D' KEYLENGTH KEY}. A record is immutable: a large value gets a blob of its own for the record, so
 * rewriting the key never takes a recorded value away. Sequence numbers follow the order in which ZooKeeper
 * applied the changes, so the log is every change once, in order, each with its value, whenever it is read:
 * that is what watches deliver ({@link ZkWatches}), and why they need not read the key's znode (which may have
 * changed again since). Deleting a key that is not set writes nothing.
 *
 * <p>The log keeps the latest records, at most {@link #RETAIN} of them and {@link #RETAIN_BYTES} (ZooKeeper keeps
 * all data in memory), but always the latest {@link #RETAIN_MIN}: after {@link #COMPACT_EVERY} sequence numbers
 * or a quarter of that many bytes, a writer asks its worker thread to delete older records (and their blobs);
 * the sizes are in the names, so this takes one listing. A watch that falls further behind (its node
 * disconnected long enough) misses the oldest changes, and logs that it did.
 *
 * <h2>Limits</h2>
 * Values up to 1 MiB (RESOURCE_EXHAUSTED beyond), and at most {@link #MAX_KEYS} keys (a put of a new key beyond
 * is RESOURCE_EXHAUSTED; concurrent puts of new keys may pass the limit by a few).
 */
final class ZkKeyValues {

    static final int MAX_VALUE = 1 << 20;
    static final int MAX_KEYS = 65_536;
    static final int INLINE_MAX = ZkValues.INLINE_MAX;
    static final int RETAIN = 1_000;
    /** The most bytes of records the log keeps (ZooKeeper holds all data in memory). */
    static final long RETAIN_BYTES = 64L << 20;
    /** The records kept whatever their size. */
    static final int RETAIN_MIN = 16;
    static final int COMPACT_EVERY = 256;
    /** The most change records a watch reads at once (each at most ~260 KiB; larger values are read one by one). */
    static final int READ_BATCH = 64;
    /** The most records one compaction deletes (it runs again at once for the rest). */
    static final int COMPACT_BATCH = 1_000;

    private static final byte PUT = 'P';
    private static final byte DELETE = 'D';
    private static final System.Logger LOG = System.getLogger(ZkKeyValues.class.getName());

    final String kv;
    final String log;
    final String blobs;
    private final ZkCoordination co;
    private final ZkValues values;
    private final AtomicLong compactedAt = new AtomicLong(Long.MIN_VALUE / 2);
    private final AtomicLong writtenKib = new AtomicLong();
    private volatile boolean compactionDue;

    ZkKeyValues(ZkCoordination co) {
        this.co = co;
        this.kv = co.ops.base + "/kv";
        this.log = co.ops.base + "/log";
        this.blobs = co.ops.base + "/blobs";
        this.values = new ZkValues(co.ops, blobs);
    }

    /** One change, as the log recorded it; {@code value} null for a deletion. */
    record Change(long seq, String key, byte[] value) {
    }

    /** Changes read from the log: {@code last} is the last record looked at; {@code more} if others follow. */
    record Batch(List<Change> changes, long last, boolean more) {
    }

    // ------------------------------------------------------------------ put, get, delete

    /** Stores a copy of {@code value}. */
    void put(String key, byte[] caller) {
        if (caller.length > MAX_VALUE) {
            throw Status.of(Status.Code.RESOURCE_EXHAUSTED, "value of '" + key + "' is " + caller.length
                    + " bytes; the most is " + MAX_VALUE).withRetrySafe(true).asException();
        }
        byte[] value = caller.clone();      // the key's znode and its record must get the same bytes
        String what = "put('" + key + "')";
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        String head = kv + "/" + ZkCoordination.nodeName(key);
        String headBlob = null;
        String recordBlob = null;
        boolean keepBlobs = false;
        try {
            byte[] headData;
            byte[] recordData;
            String record;
            if (value.length <= INLINE_MAX) {
                headData = values.inline(value);
                recordData = record(PUT, key, headData);
                record = recordPrefix(recordData.length, null);
            } else {
                headBlob = values.writeBlob(zk, value, deadline, what);
                recordBlob = values.writeBlob(zk, value, deadline, what);
                headData = values.blobRef(headBlob, value.length);
                recordData = record(PUT, key, values.blobRef(recordBlob, value.length));
                record = recordPrefix(value.length, recordBlob);
            }
            for (int conflicts = 0; ; conflicts++) {
                ZkCoordination.checkDeadline(deadline, what);
                ZkCoordination.backOff(conflicts);
                Reply old = co.ops.await(co.ops.getData(zk, head, null), deadline, what);
                Op write;
                if (old.code == KeeperException.Code.NONODE) {
                    Reply dir = co.ops.await(co.ops.exists(zk, kv, null), deadline, what).check(what);
                    if (dir.stat.getNumChildren() >= MAX_KEYS) {
                        throw Status.of(Status.Code.RESOURCE_EXHAUSTED, what + ": there are " + MAX_KEYS
                                + " keys already, the most there may be").withRetrySafe(true).asException();
                    }
                    write = Op.create(head, headData, co.ops.acl(zk, deadline), CreateMode.PERSISTENT);
                } else {
                    old.check(what);
                    write = Op.setData(head, headData, old.stat.getVersion());
                }
                Reply m = co.ops.multi(zk, List.of(write, Op.create(record, recordData, co.ops.acl(zk, deadline),
                        CreateMode.PERSISTENT_SEQUENTIAL)));
                keepBlobs = true;                       // from here on, the outcome may be unknown
                co.ops.await(m, deadline, what);
                if (m.ok()) {
                    if (old.ok()) {
                        values.deleteBlobOf(zk, old.data);
                    }
                    written(m.createdPath(), recordData.length + (recordBlob == null ? 0 : value.length));
                    return;
                }
                keepBlobs = ZkOps.isConnectionProblem(m.code);
                KeeperException.Code c = m.code;
                if (c != KeeperException.Code.BADVERSION && c != KeeperException.Code.NONODE
                        && c != KeeperException.Code.NODEEXISTS) {
                    m.check(what);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + " interrupted").asException();
        } finally {
            if (!keepBlobs) {
                values.deleteBlob(zk, headBlob);
                values.deleteBlob(zk, recordBlob);
            }
        }
    }

    Optional<byte[]> get(String key) {
        String what = "get('" + key + "')";
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        String head = kv + "/" + ZkCoordination.nodeName(key);
        try {
            // A value another node put before this call must be seen even if our server lags the leader: sync
            // first (the read is queued behind it on this session, so both go in one round trip).
            Reply synced = co.ops.sync(zk, kv);
            boolean first = true;
            while (true) {
                ZkCoordination.checkDeadline(deadline, what);
                Reply pending = co.ops.getData(zk, head, null);
                if (first) {
                    co.ops.await(synced, deadline, what).check(what + ": sync");
                    first = false;
                }
                Reply r = co.ops.await(pending, deadline, what);
                if (r.code == KeeperException.Code.NONODE) {
                    return Optional.empty();
                }
                r.check(what);
                byte[] v = values.value(zk, ByteBuffer.wrap(r.data), deadline, what);
                if (v != null) {
                    return Optional.of(v);
                }
                // Its blob was deleted: the key was set again meanwhile. Read it again.
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + " interrupted").asException();
        }
    }

    boolean delete(String key) {
        String what = "delete('" + key + "')";
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        String head = kv + "/" + ZkCoordination.nodeName(key);
        byte[] recordData = record(DELETE, key, null);
        try {
            for (int conflicts = 0; ; conflicts++) {
                ZkCoordination.checkDeadline(deadline, what);
                ZkCoordination.backOff(conflicts);
                Reply old = co.ops.await(co.ops.getData(zk, head, null), deadline, what);
                if (old.code == KeeperException.Code.NONODE) {
                    return false;
                }
                old.check(what);
                Reply m = co.ops.await(co.ops.multi(zk, List.of(Op.delete(head, old.stat.getVersion()),
                        Op.create(recordPrefix(recordData.length, null), recordData, co.ops.acl(zk, deadline),
                                CreateMode.PERSISTENT_SEQUENTIAL))),
                        deadline, what);
                if (m.ok()) {
                    values.deleteBlobOf(zk, old.data);
                    written(m.createdPath(), recordData.length);
                    return true;
                }
                if (m.opError(0) == KeeperException.Code.NONODE) {
                    return false;               // deleted by another caller meanwhile
                }
                if (m.code != KeeperException.Code.BADVERSION) {
                    m.check(what);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Status.of(Status.Code.CANCELLED, what + " interrupted").asException();
        }
    }

    // ------------------------------------------------------------------ the log, for watches

    /** The sequence number of the latest record, or -1 when there is none. */
    long latest(ZooKeeper zk, long deadline) throws InterruptedException {
        Reply kids = co.ops.await(co.ops.getChildren(zk, log, null), deadline, "reading the change log").check(
                "reading the change log");
        long max = -1;
        for (String k : kids.children) {
            max = Math.max(max, seq(k));
        }
        return max;
    }

    /**
     * The first changes after sequence number {@code after}, in order: at most {@link #READ_BATCH} records (read
     * at once), so the next call goes on from the last. Records compacted meanwhile are skipped (and logged).
     */
    Batch since(ZooKeeper zk, long after, long deadline) throws InterruptedException {
        Reply kids = co.ops.await(co.ops.getChildren(zk, log, null), deadline, "reading the change log").check(
                "reading the change log");
        List<String> names = new ArrayList<>();
        for (String k : kids.children) {
            if (seq(k) > after) {
                names.add(k);
            }
        }
        names.sort(Comparator.comparingLong(ZkKeyValues::seq));
        boolean more = names.size() > READ_BATCH;
        if (more) {
            names = names.subList(0, READ_BATCH);
        }
        List<Reply> reads = new ArrayList<>(names.size());
        for (String n : names) {
            reads.add(co.ops.getData(zk, log + "/" + n, null));
        }
        List<Change> changes = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            Reply r = co.ops.await(reads.get(i), deadline, "reading the change log");
            if (r.code == KeeperException.Code.NONODE) {
                LOG.log(System.Logger.Level.WARNING, "change {0} was compacted before this node read it; watches "
                        + "miss it", names.get(i));
                continue;
            }
            r.check("reading change " + names.get(i));
            ByteBuffer b = ByteBuffer.wrap(r.data);
            byte kind = b.get();
            byte[] k = new byte[b.getInt()];
            b.get(k);
            String key = new String(k, StandardCharsets.UTF_8);
            byte[] value = null;
            if (kind == PUT) {
                value = values.value(zk, b, deadline, "reading change " + names.get(i));
                if (value == null) {
                    LOG.log(System.Logger.Level.WARNING, "the value of change {0} was compacted before this node "
                            + "read it; watches miss it", names.get(i));
                    continue;
                }
            }
            changes.add(new Change(seq(names.get(i)), key, value));
        }
        return new Batch(changes, names.isEmpty() ? after : seq(names.getLast()), more);
    }

    /**
     * A record of {@code bytes} was written: after {@link #COMPACT_EVERY} sequence numbers or a quarter of
     * {@link #RETAIN_BYTES} written by this node, the worker trims the log.
     */
    private void written(String record, long bytes) {
        long s = seq(record);
        long last = compactedAt.get();
        long kib = writtenKib.addAndGet(kib(bytes));
        if ((s - last >= COMPACT_EVERY || kib >= RETAIN_BYTES / 4 / 1024) && compactedAt.compareAndSet(last, s)) {
            writtenKib.set(0);
            compactionDue = true;
            co.wakeWorker();
        }
    }

    /**
     * On the worker thread: keeps the latest records, at most {@link #RETAIN} and {@link #RETAIN_BYTES} of them
     * (but always the latest {@link #RETAIN_MIN}), and deletes the others (oldest first) with their blobs.
     */
    void compactIfDue() throws InterruptedException {
        if (!compactionDue) {
            return;
        }
        long deadline = co.ops.deadline();
        ZooKeeper zk = co.ready(deadline);
        compactionDue = false;
        Reply kids = co.ops.await(co.ops.getChildren(zk, log, null), deadline, "compacting the change log");
        if (!kids.ok()) {
            compactionDue = ZkOps.isConnectionProblem(kids.code);
            kids.check("compacting the change log");
        }
        List<String> names = new ArrayList<>(kids.children);
        names.sort(Comparator.comparingLong(ZkKeyValues::seq).reversed());
        int keep = 0;
        long keptKib = 0;
        while (keep < names.size() && keep < RETAIN
                && (keep < RETAIN_MIN || keptKib + recordKib(names.get(keep)) <= RETAIN_BYTES / 1024)) {
            keptKib += recordKib(names.get(keep));
            keep++;
        }
        List<String> old = names.subList(keep, names.size()).reversed();
        if (old.size() > COMPACT_BATCH) {
            old = old.subList(0, COMPACT_BATCH);
            compactionDue = true;           // the rest on the worker's next round
            co.wakeWorker();
        }
        List<Reply> deletes = new ArrayList<>();
        List<Reply> blobLists = new ArrayList<>();
        List<String> blobIds = new ArrayList<>();
        for (String n : old) {
            deletes.add(co.ops.delete(zk, log + "/" + n, -1));
            String id = recordBlob(n);
            if (id != null) {
                blobIds.add(id);
                blobLists.add(co.ops.getChildren(zk, blobs + "/" + id, null));
            }
        }
        for (int i = 0; i < blobIds.size(); i++) {
            Reply l = co.ops.await(blobLists.get(i), deadline, "compacting the change log");
            if (l.ok()) {
                values.deleteBlob(zk, blobIds.get(i), l.children.size());
            }
        }
        for (Reply d : deletes) {
            co.ops.await(d, deadline, "compacting the change log");
        }
        if (!deletes.isEmpty()) {
            LOG.log(System.Logger.Level.DEBUG, "compacted {0} change records", deletes.size());
        }
    }

    /** The name of a new record (before its sequence number): its size in KiB, and its blob's id if any. */
    private String recordPrefix(long bytes, String blobId) {
        return log + "/r" + kib(bytes) + "_" + (blobId == null ? "" : blobId) + "-";
    }

    private static long kib(long bytes) {
        return (bytes + 1023) / 1024;
    }

    /** The size in KiB a record's name gives (0 for a name this code did not make). */
    private static long recordKib(String name) {
        int sep = name.indexOf('_');
        try {
            return name.startsWith("r") && sep > 1 ? Long.parseLong(name.substring(1, sep)) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The id of the blob a record's name refers to; null if none. */
    private static String recordBlob(String name) {
        int sep = name.indexOf('_');
        int end = name.lastIndexOf('-');
        return name.startsWith("r") && sep > 0 && end > sep + 1 ? name.substring(sep + 1, end) : null;
    }

    // ------------------------------------------------------------------ records

    private static byte[] record(byte kind, String key, byte[] value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + k.length + (value == null ? 0 : value.length));
        b.put(kind).putInt(k.length).put(k);
        if (value != null) {
            b.put(value);
        }
        return b.array();
    }

    /** The sequence number of a log record (its name's last 10 digits); -1 for anything else. */
    static long seq(String name) {
        int n = name.length();
        if (n < 10) {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(n - 10));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
