package dev.baton.zookeeper;

import dev.baton.BatonException;
import dev.baton.Status;
import dev.baton.zookeeper.ZkOps.Reply;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooKeeper;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * How a key/value's value is stored ({@link ZkKeyValues}): inline, or as a blob of chunks.
 *
 * <pre>
 * VALUE := 'I' BYTES                                  at most {@link #INLINE_MAX} bytes, in the znode itself
 *        | 'B' IDLENGTH(int) ID(ascii) LENGTH(int)     a blob: BASE/blobs/ID/0 .. /N-1, each at most {@link #CHUNK}
 * </pre>
 *
 * A blob is written (its znode, then its chunks) before anything refers to it, is never changed, and belongs to
 * exactly one reference (a key's znode or a change record); whoever drops the reference deletes it. A reader
 * that finds a chunk gone learns that the reference was dropped meanwhile.
 */
final class ZkValues {

    /** Values up to this size live in the znode that refers to them (a key's and its record: well below 1 MiB). */
    static final int INLINE_MAX = 256 * 1024;
    /** The largest chunk of a blob (one create request, well below ZooKeeper's 1 MiB jute.maxbuffer). */
    static final int CHUNK = 256 * 1024;

    private static final byte INLINE = 'I';
    private static final byte BLOB = 'B';

    private final ZkOps ops;
    private final String blobs;

    ZkValues(ZkOps ops, String blobs) {
        this.ops = ops;
        this.blobs = blobs;
    }

    static byte[] inline(byte[] value) {
        byte[] d = new byte[1 + value.length];
        d[0] = INLINE;
        System.arraycopy(value, 0, d, 1, value.length);
        return d;
    }

    static byte[] blobRef(String id, int length) {
        byte[] idBytes = id.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(1 + 4 + idBytes.length + 4).put(BLOB).putInt(idBytes.length).put(idBytes)
                .putInt(length).array();
    }

    /** Decodes a value at {@code b}'s position (inline or blob); null if its blob is gone. */
    byte[] value(ZooKeeper zk, ByteBuffer b, long deadline, String what) throws InterruptedException {
        if (!b.hasRemaining()) {
            throw damaged(what, "empty");
        }
        byte type = b.get();
        if (type == INLINE) {
            byte[] v = new byte[b.remaining()];
            b.get(v);
            return v;
        }
        if (type != BLOB) {
            throw Status.of(Status.Code.INTERNAL, what + ": a value in ZooKeeper is damaged (type " + type + ")")
                    .asException();
        }
        // Lengths from ZooKeeper, which any member can write: checked before anything is allocated for them.
        int idLength = b.remaining() >= 4 ? b.getInt() : -1;
        if (idLength < 0 || idLength > b.remaining() - 4) {
            throw damaged(what, "blob id of " + idLength + " bytes in " + b.remaining());
        }
        byte[] id = new byte[idLength];
        b.get(id);
        int length = b.getInt();
        if (length < 0 || length > ZkKeyValues.MAX_VALUE) {
            throw damaged(what, "blob of " + length + " bytes");
        }
        String blob = blobs + "/" + new String(id, StandardCharsets.US_ASCII);
        int chunks = chunks(length);
        List<Reply> reads = new ArrayList<>(chunks);
        for (int i = 0; i < chunks; i++) {
            reads.add(ops.getData(zk, blob + "/" + i, null));
        }
        byte[] v = new byte[length];
        int at = 0;
        for (Reply r : reads) {
            ops.await(r, deadline, what);
            if (r.code == KeeperException.Code.NONODE) {
                return null;
            }
            r.check(what);
            if (at + r.data.length > length) {
                throw Status.of(Status.Code.INTERNAL, what + ": blob " + blob + " is damaged").asException();
            }
            System.arraycopy(r.data, 0, v, at, r.data.length);
            at += r.data.length;
        }
        if (at != length) {
            throw Status.of(Status.Code.INTERNAL, what + ": blob " + blob + " is damaged").asException();
        }
        return v;
    }

    private static BatonException damaged(String what, String detail) {
        return Status.of(Status.Code.INTERNAL, what + ": a value in ZooKeeper is damaged (" + detail + ")")
                .asException();
    }

    static int chunks(int length) {
        return (length + CHUNK - 1) / CHUNK;
    }

    /** Writes {@code value} as a new blob and returns its id; on failure deletes what it wrote. */
    String writeBlob(ZooKeeper zk, byte[] value, long deadline, String what) throws InterruptedException {
        String id = UUID.randomUUID().toString();
        String blob = blobs + "/" + id;
        List<Reply> writes = new ArrayList<>();
        writes.add(ops.create(zk, blob, new byte[0], ops.acl(zk, deadline), CreateMode.PERSISTENT));
        for (int i = 0, at = 0; at < value.length; i++, at += CHUNK) {
            byte[] chunk = new byte[Math.min(CHUNK, value.length - at)];
            System.arraycopy(value, at, chunk, 0, chunk.length);
            writes.add(ops.create(zk, blob + "/" + i, chunk, ops.acl(zk, deadline), CreateMode.PERSISTENT));
        }
        try {
            for (Reply w : writes) {
                ops.await(w, deadline, what).check(what + ": writing a chunk");
            }
        } catch (BatonException | InterruptedException e) {
            deleteBlob(zk, id, writes.size() - 1);
            throw e;
        }
        return id;
    }

    /** Deletes the blob that a key's old data refers to, if any (best effort, without waiting). */
    void deleteBlobOf(ZooKeeper zk, byte[] data) {
        if (data != null && data.length > 0 && data[0] == BLOB) {
            ByteBuffer b = ByteBuffer.wrap(data, 1, data.length - 1);
            int idLength = b.remaining() >= 4 ? b.getInt() : -1;
            if (idLength < 0 || idLength > b.remaining() - 4) {
                return;     // damaged: it names no blob
            }
            byte[] id = new byte[idLength];
            b.get(id);
            deleteBlob(zk, new String(id, StandardCharsets.US_ASCII),
                    chunks(Math.clamp(b.getInt(), 0, ZkKeyValues.MAX_VALUE)));
        }
    }

    void deleteBlob(ZooKeeper zk, String id) {
        if (id != null) {
            deleteBlob(zk, id, chunks(ZkKeyValues.MAX_VALUE));
        }
    }

    /**
     * Deletes blob {@code id} with its chunks 0..chunks-1, without waiting: ZooKeeper runs a session's requests
     * in order, so the blob's own znode goes after its chunks. A blob left behind (the connection broke) is
     * garbage: nothing refers to it.
     */
    void deleteBlob(ZooKeeper zk, String id, int chunks) {
        String blob = blobs + "/" + id;
        for (int i = 0; i < chunks; i++) {
            ops.delete(zk, blob + "/" + i, -1);
        }
        ops.delete(zk, blob, -1);
    }
}
