package dev.baton.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Set;

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
    static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    /** A feature bit: this side reads bodies from payload files ({@link ShmPayloads}). */
    static final int PAYLOAD_FILES = 1;
    private static final long FEATURES_CLIENT = 16;
    private static final long FEATURES_SERVER = 20;

    private final Arena arena;
    private final MemorySegment mapping;
    final ShmRing up;       // client -> server
    final ShmRing down;     // server -> client

    private RingFile(Arena arena, MemorySegment mapping, int capacity) {
        this.arena = arena;
        this.mapping = mapping;
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
        Arena arena = Arena.ofShared();
        boolean done = false;
        try (FileChannel fc = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(OWNER_ONLY))) {
            long size = size(capacity);
            fc.write(ByteBuffer.allocate(1), size - 1);     // sized (sparse: tmpfs gives pages as they are touched)
            MemorySegment mapping = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            mapping.set(LONG, 0, MAGIC);
            mapping.set(INT, 8, VERSION);
            mapping.set(INT, 12, capacity);
            RingFile rings = new RingFile(arena, mapping, capacity);
            done = true;
            return rings;
        } finally {
            if (!done) {
                arena.close();
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Maps {@code file}, made by a peer with {@link #create}, after checking that it is what it must be: a regular
     * file of {@code owner}, readable and writable by its owner only, of the size its header says, with the magic
     * and version of this code. Deletes its name once mapped (or found wrong).
     *
     * @throws IOException the file is missing or wrong (the message says how)
     */
    static RingFile open(Path file, UserPrincipal owner) throws IOException {
        try {
            PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            checkOwnerOnly(file, a, owner, "ring file");
            long size = a.size();
            if (size < size(MIN_CAPACITY) || size > size(MAX_CAPACITY)) {
                throw new IOException("ring file " + file + " has an impossible size: " + size);
            }
            Arena arena = Arena.ofShared();
            boolean done = false;
            try (FileChannel fc = FileChannel.open(file, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS))) {
                MemorySegment mapping = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                long magic = mapping.get(LONG, 0);
                int version = mapping.get(INT, 8);
                int capacity = mapping.get(INT, 12);
                if (magic != MAGIC || version != VERSION) {
                    throw new IOException("ring file " + file + " is not a Baton ring of version " + VERSION
                            + " (magic " + Long.toHexString(magic) + ", version " + version + ")");
                }
                if (Integer.bitCount(capacity) != 1 || capacity < MIN_CAPACITY || size != size(capacity)) {
                    throw new IOException("ring file " + file + ": capacity " + capacity + " does not match its size "
                            + size);
                }
                RingFile rings = new RingFile(arena, mapping, capacity);
                done = true;
                return rings;
            } finally {
                if (!done) {
                    arena.close();
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * Says what this side ({@code client}: the connecting one) reads besides frames. The client before it sends the
     * set-up, the server before its HELLO: what the peer reads of it after that is ordered by the socket or the ring.
     */
    void features(boolean client, int features) {
        mapping.set(INT, client ? FEATURES_CLIENT : FEATURES_SERVER, features);
    }

    /** What the peer of this side ({@code client}: the connecting one) said it reads; 0 from a peer that says nothing. */
    int peerFeatures(boolean client) {
        return mapping.get(INT, client ? FEATURES_SERVER : FEATURES_CLIENT);
    }

    /** Throws unless {@code file} (with attributes {@code a}) is a regular file of {@code owner} with {@code rw-------}. */
    static void checkOwnerOnly(Path file, PosixFileAttributes a, UserPrincipal owner, String what) throws IOException {
        if (!a.isRegularFile() || !a.owner().equals(owner) || !a.permissions().equals(OWNER_ONLY)) {
            throw new IOException(what + " " + file + " is not a regular file of " + owner.getName()
                    + " with permissions rw------- (it is " + (a.isRegularFile() ? "" : "not regular, ")
                    + a.owner().getName() + ", " + PosixFilePermissions.toString(a.permissions()) + ")");
        }
    }

    /**
     * Unmaps both rings. A thread still using them then fails with {@link IllegalStateException}, never touches
     * unmapped memory. Returns false when the JDK refused because a thread is inside an access right now: call
     * again later.
     */
    boolean unmap() {
        try {
            arena.close();
            return true;
        } catch (IllegalStateException e) {
            return !arena.scope().isAlive();
        }
    }

    @Override
    public void close() {
        unmap();
    }
}
