package dev.baton.shm;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;

/**
 * The shared mapping of one connection: a file in the shared-memory directory that holds both rings. The
 * connecting side creates it (owner-only, exclusively), the accepting side maps it and deletes its name at once,
 * so from then on nothing can open it again, nothing can truncate it (a truncated mapping would fault), and it
 * leaves nothing behind in {@code /dev/shm} whatever happens to either process: the memory goes back to the
 * system when the last of the two mappings goes.
 *
 * <pre>
 *   0     magic        i64  "BATONSHM"
 *   8     version      i32  1
 *   12    capacity     i32  bytes of each ring's data, a power of two
 *   16    client reads i32  what the connecting side reads besides frames: {@link #PAYLOAD_FILES}, or 0
 *   20    server reads i32  the same for the accepting side, written before its HELLO
 *   128   control of the ring client -&gt; server   ({@link ShmRing#CONTROL_BYTES})
 *   512   control of the ring server -&gt; client
 *   1024  data of the ring client -&gt; server      (capacity bytes)
 *   1024 + capacity   data of the ring server -&gt; client
 * </pre>
 *
 * <p>Not thread-safe: made on one thread, then its rings are used by their roles; {@link #close()} unmaps.
 */
final class RingFile implements AutoCloseable {

    static final long MAGIC = 0x4d48534e4f544142L;       // "BATONSHM" read as little-endian bytes
    static final int VERSION = 1;
    static final int HEADER_BYTES = 1024;
    static final int MIN_CAPACITY = 4096;
    static final int MAX_CAPACITY = 1 << 30;
    private static final long CONTROL_UP = 128;
    private static final long CONTROL_DOWN = 512;
    private static final SharedFile.Kind KIND = new SharedFile.Kind("ring file", MAGIC, VERSION, MIN_CAPACITY,
            MAX_CAPACITY, RingFile::size);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    /** A feature bit: this side reads bodies from payload files ({@link ShmPayloads}). */
    static final int PAYLOAD_FILES = 1;
    private static final long FEATURES_CLIENT = 16;
    private static final long FEATURES_SERVER = 20;

    private final SharedFile file;
    final ShmRing up;       // client -> server
    final ShmRing down;     // server -> client

    private RingFile(SharedFile file) {
        this.file = file;
        MemorySegment mapping = file.mapping;
        int capacity = file.capacity;
        long dataUp = HEADER_BYTES;
        long dataDown = dataUp + capacity;
        this.up = new ShmRing(mapping.asSlice(CONTROL_UP, ShmRing.CONTROL_BYTES), mapping.asSlice(dataUp, capacity));
        this.down = new ShmRing(mapping.asSlice(CONTROL_DOWN, ShmRing.CONTROL_BYTES),
                mapping.asSlice(dataDown, capacity));
    }

    /** The file size for rings of {@code capacity} bytes. */
    static long size(int capacity) {
        return HEADER_BYTES + 2L * capacity;
    }

    /** Creates {@code file} (it must not exist) with rings of {@code capacity} bytes, and maps it. */
    static RingFile create(Path file, int capacity) throws IOException {
        if (Integer.bitCount(capacity) != 1 || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
            throw new IllegalArgumentException("ring capacity must be a power of two in [" + MIN_CAPACITY + ", "
                    + MAX_CAPACITY + "], was " + capacity);
        }
        return new RingFile(SharedFile.create(file, KIND, capacity, false));
    }

    /**
     * Maps {@code file}, made by a peer with {@link #create}, after checking that it is what it must be
     * ({@link SharedFile#open}). Deletes its name once mapped (or found wrong).
     *
     * @throws IOException the file is missing or wrong (the message says how)
     */
    static RingFile open(Path file, UserPrincipal owner) throws IOException {
        return new RingFile(SharedFile.open(file, owner, KIND));
    }

    /**
     * Says what this side ({@code client}: the connecting one) reads besides frames. The client before it sends the
     * set-up, the server before its HELLO: what the peer reads of it after that is ordered by the socket or the ring.
     */
    void features(boolean client, int features) {
        file.mapping.set(INT, client ? FEATURES_CLIENT : FEATURES_SERVER, features);
    }

    /** What the peer of this side ({@code client}: the connecting one) said it reads; 0 from a peer that says nothing. */
    int peerFeatures(boolean client) {
        return file.mapping.get(INT, client ? FEATURES_SERVER : FEATURES_CLIENT);
    }

    /**
     * Unmaps both rings. A thread still using them then fails with {@link IllegalStateException}, never touches
     * unmapped memory. Returns false when the JDK refused because a thread is inside an access right now: call
     * again later.
     */
    boolean unmap() {
        return file.unmap();
    }

    @Override
    public void close() {
        unmap();
    }
}
