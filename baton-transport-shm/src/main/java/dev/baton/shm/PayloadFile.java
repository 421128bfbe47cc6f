package dev.baton.shm;

import dev.baton.spi.BufferRecycler;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * One file that carries large message bodies beside a connection's ring, one body at a time ({@link PayloadOutbox}
 * writes them, {@link PayloadInbox} lends them): a header, a state word both sides read, then the body's bytes.
 *
 * <pre>
 *   0     magic     i64  "BATONPAY"
 *   8     version   i32  1
 *   12    capacity  i32  bytes of data, a power of two
 *   64    state     i32  FREE, IN_USE or RETIRED (its own cache line)
 *   128   data      capacity bytes
 * </pre>
 *
 * The writer creates the file (owner-only, its pages allocated at once so that a full {@code /dev/shm} fails the
 * creation, not a later store), copies a body in, marks it IN_USE and sends its descriptor; the reader maps it the
 * first time, deletes its name, lends the body, and marks it FREE when the borrower is done; the writer reuses a FREE
 * file, or retires it (RETIRED: the reader unmaps it too). Only the writer leaves FREE and only the reader leaves
 * IN_USE, so each transition is a plain ordered store.
 *
 * <p>The writer's instance is used under its outbox's lock; the reader's under its inbox's lock, except
 * {@link #recycle}, which any thread calls once per loan.
 */
final class PayloadFile implements BufferRecycler {

    static final long MAGIC = 0x5941504e4f544142L;       // "BATONPAY" read as little-endian bytes
    static final int VERSION = 1;
    static final int HEADER_BYTES = 128;
    static final int MIN_CAPACITY = 64 * 1024;
    static final int MAX_CAPACITY = 1 << 30;
    static final int FREE = 0;
    static final int IN_USE = 1;
    static final int RETIRED = 2;
    private static final long STATE = 64;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final VarHandle STATE_WORD = ValueLayout.JAVA_INT.varHandle();
    private static final int ZEROS = 64 * 1024;

    final int slot;
    final int capacity;
    final Path path;                    // the writer's: to delete if the reader never took it
    private final Arena arena;
    private final MemorySegment mapping;
    private final MemorySegment data;
    private final PayloadInbox inbox;   // the reader's: where a loan's end goes
    // ---- under the owner's lock
    /** The writer's: when a body last went in. */
    long lastUsedNanos;
    /** The reader's: a body is lent now, as loan number {@link #loans}, which {@link #loan} ends. */
    boolean lent;
    long loans;
    java.lang.ref.Cleaner.Cleanable loan;

    private PayloadFile(int slot, int capacity, Path path, Arena arena, MemorySegment mapping, PayloadInbox inbox) {
        this.slot = slot;
        this.capacity = capacity;
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.data = mapping.asSlice(HEADER_BYTES, capacity);
        this.inbox = inbox;
    }

    /** The capacity for a body of {@code length} bytes: the power of two at or above it, at least 64 KiB. */
    static int capacityFor(int length) {
        return Math.max(MIN_CAPACITY, Integer.highestOneBit(Math.max(1, length - 1)) << 1);
    }

    /**
     * Creates {@code file} (it must not exist) for bodies up to {@code capacity} bytes, with every page allocated,
     * and maps it. The writer.
     *
     * @throws IOException it cannot be created or filled ({@code /dev/shm} is full, say); nothing is left behind
     */
    static PayloadFile create(Path file, int slot, int capacity) throws IOException {
        Arena arena = Arena.ofShared();
        boolean done = false;
        try (FileChannel fc = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(
                RingFile.OWNER_ONLY))) {
            long size = HEADER_BYTES + (long) capacity;
            ByteBuffer zeros = ByteBuffer.allocateDirect(ZEROS);
            for (long at = 0; at < size; ) {     // written, not sparse: tmpfs takes the pages now or says it cannot
                zeros.clear().limit((int) Math.min(ZEROS, size - at));
                at += fc.write(zeros, at);
            }
            MemorySegment mapping = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            mapping.set(LONG, 0, MAGIC);
            mapping.set(INT, 8, VERSION);
            mapping.set(INT, 12, capacity);
            PayloadFile f = new PayloadFile(slot, capacity, file, arena, mapping, null);
            done = true;
            return f;
        } finally {
            if (!done) {
                arena.close();
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Maps {@code file}, made by the peer with {@link #create}, after checking it as {@link RingFile#open} checks a
     * ring file (a regular file of {@code owner}, {@code rw-------}, the magic, version and a size its header
     * matches, a capacity within bounds); deletes its name whatever the outcome. The reader.
     *
     * @throws IOException the file is missing or wrong (the message says how)
     */
    static PayloadFile open(Path file, UserPrincipal owner, int slot, PayloadInbox inbox) throws IOException {
        try {
            PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            RingFile.checkOwnerOnly(file, a, owner, "payload file");
            long size = a.size();
            if (size < HEADER_BYTES + (long) MIN_CAPACITY || size > HEADER_BYTES + (long) MAX_CAPACITY) {
                throw new IOException("payload file " + file + " has an impossible size: " + size);
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
                    throw new IOException("payload file " + file + " is not a Baton payload file of version "
                            + VERSION + " (magic " + Long.toHexString(magic) + ", version " + version + ")");
                }
                if (Integer.bitCount(capacity) != 1 || capacity < MIN_CAPACITY || size != HEADER_BYTES + (long) capacity) {
                    throw new IOException("payload file " + file + ": capacity " + capacity + " does not match its size "
                            + size);
                }
                PayloadFile f = new PayloadFile(slot, capacity, null, arena, mapping, inbox);
                done = true;
                return f;
            } finally {
                if (!done) {
                    arena.close();
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    int state() {
        return (int) STATE_WORD.getAcquire(mapping, STATE);
    }

    void state(int s) {
        STATE_WORD.setRelease(mapping, STATE, s);
    }

    /** The writer: copies {@code body}'s remaining bytes to the start of the data (the body does not move). */
    void fill(ByteBuffer body) {
        MemorySegment.copy(MemorySegment.ofBuffer(body), 0, data, 0, body.remaining());
    }

    /**
     * The reader: the data's first {@code length} bytes, as a new segment to lend a buffer of. Every buffer made from
     * that buffer refers to this segment, so it is reachable exactly as long as some view of the loan is.
     */
    MemorySegment body(int length) {
        return data.asSlice(0, length);
    }

    /** A loan ended: the inbox marks the file FREE. Any thread, once per loan. */
    @Override
    public void recycle(ByteBuffer buffer) {
        inbox.returned(this);
    }

    /**
     * Unmaps the file. Returns false when the JDK refused because a thread is inside an access right now (a
     * borrower that kept a view past its loan): try again later.
     */
    boolean unmap() {
        try {
            arena.close();
            return true;
        } catch (IllegalStateException e) {
            return !arena.scope().isAlive();
        }
    }
}
