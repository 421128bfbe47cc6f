package dev.baton.shm;

import dev.baton.spi.BufferRecycler;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;

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
    private static final VarHandle STATE_WORD = ValueLayout.JAVA_INT.varHandle();
    private static final SharedFile.Kind KIND = new SharedFile.Kind("payload file", MAGIC, VERSION, MIN_CAPACITY,
            MAX_CAPACITY, capacity -> HEADER_BYTES + (long) capacity);

    final int slot;
    final int capacity;
    final Path path;                    // the writer's: to delete if the reader never took it
    private final SharedFile file;
    private final MemorySegment data;
    private final PayloadInbox inbox;   // the reader's: where a loan's end goes
    // ---- under the owner's lock
    /** The writer's: when a body last went in. */
    long lastUsedNanos;
    /** The reader's: a body is lent now, as loan number {@link #loans}, which {@link #loan} ends. */
    boolean lent;
    long loans;
    java.lang.ref.Cleaner.Cleanable loan;

    private PayloadFile(int slot, Path path, SharedFile file, PayloadInbox inbox) {
        this.slot = slot;
        this.capacity = file.capacity;
        this.path = path;
        this.file = file;
        this.data = file.mapping.asSlice(HEADER_BYTES, capacity);
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
        return new PayloadFile(slot, file, SharedFile.create(file, KIND, capacity, true), null);
    }

    /**
     * Maps {@code file}, made by the peer with {@link #create}, after checking it as a ring file is checked
     * ({@link SharedFile#open}); deletes its name whatever the outcome. The reader.
     *
     * @throws IOException the file is missing or wrong (the message says how)
     */
    static PayloadFile open(Path file, UserPrincipal owner, int slot, PayloadInbox inbox) throws IOException {
        return new PayloadFile(slot, null, SharedFile.open(file, owner, KIND), inbox);
    }

    int state() {
        return (int) STATE_WORD.getAcquire(file.mapping, STATE);
    }

    void state(int s) {
        STATE_WORD.setRelease(file.mapping, STATE, s);
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
        return file.unmap();
    }
}
