package dev.baton.shm;

import dev.baton.spi.LogLimiter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

/**
 * The writing side of a connection's payload files ({@link PayloadFile}): copies each large body into a free file
 * of this direction, making one when none fits, and writes the descriptor the frame carries instead of the body.
 *
 * <pre>
 * Descriptor (8 bytes, then the file's name the first time a slot is used)
 *   0  slot u8 | 1  flags u8 (0) | 2  name length u16 | 4  body length u32 | 8  name (ASCII)
 * </pre>
 *
 * <p>The files of one direction hold at most {@code budget} bytes of data in all, in at most {@value #SLOTS} slots.
 * A body that finds no free file and no room for a new one (the reader still holds the others' bodies) goes through
 * the ring: nothing waits for a reader to let go. A file unused for {@value #IDLE_MS} ms is retired, so an idle
 * connection gives its memory back.
 *
 * <p>Thread-safe: the writer role puts, the loop's tick trims, a close closes, all under this object's lock.
 */
final class PayloadOutbox {

    private static final System.Logger LOG = System.getLogger(PayloadOutbox.class.getName());
    /** Files a direction may have at once: a slot is one byte of the descriptor. */
    static final int SLOTS = 64;
    static final int DESCRIPTOR_BYTES = 8;
    static final int MAX_NAME = 64;
    static final long IDLE_MS = 1_000;
    private static final long IDLE_NS = IDLE_MS * 1_000_000L;
    /** One warning a minute per process when files cannot be made: a full /dev/shm would say so on every body. */
    private static final LogLimiter CANNOT_CREATE = new LogLimiter(60_000_000_000L);

    private final ShmDirectory directory;
    private final long budget;
    private final PayloadFile[] files = new PayloadFile[SLOTS];
    private long mappedBytes;
    private boolean closed;

    PayloadOutbox(ShmDirectory directory, long budget) {
        this.directory = directory;
        this.budget = budget;
    }

    /**
     * Copies {@code body}'s remaining bytes into a payload file and writes their descriptor at {@code dst}[offset];
     * returns the descriptor's length, or -1 when the body must go through the ring.
     */
    synchronized int put(ByteBuffer body, ByteBuffer dst, int offset) {
        int length = body.remaining();
        if (closed || length > PayloadFile.MAX_CAPACITY) {
            return -1;
        }
        PayloadFile f = reusable(length);
        boolean fresh = f == null;
        if (fresh && (f = create(PayloadFile.capacityFor(length))) == null) {
            return -1;
        }
        try {
            f.fill(body);
        } catch (RuntimeException | InternalError e) {
            // InternalError: the JDK's report of a fault in mapped memory (the file lost its pages?)
            LOG.log(System.Logger.Level.WARNING, "cannot write to payload file {0}: {1}", f.path, e.toString());
            retire(f);
            return -1;
        }
        f.state(PayloadFile.IN_USE);
        f.lastUsedNanos = System.nanoTime();
        byte[] name = fresh ? f.path.getFileName().toString().getBytes(StandardCharsets.US_ASCII) : null;
        int nameLength = name == null ? 0 : name.length;
        dst.put(offset, (byte) f.slot).put(offset + 1, (byte) 0).putShort(offset + 2, (short) nameLength)
                .putInt(offset + 4, length);
        if (name != null) {
            dst.put(offset + DESCRIPTOR_BYTES, name);
        }
        return DESCRIPTOR_BYTES + nameLength;
    }

    /** The smallest free file that holds {@code length} bytes, or null. */
    private PayloadFile reusable(int length) {
        PayloadFile best = null;
        for (PayloadFile f : files) {
            if (f != null && f.capacity >= length && (best == null || f.capacity < best.capacity)
                    && f.state() == PayloadFile.FREE) {
                best = f;
            }
        }
        return best;
    }

    /** A new file of {@code capacity} bytes, after retiring free ones to make room; null when there is none. */
    private PayloadFile create(int capacity) {
        if (capacity > budget) {
            return null;
        }
        int slot = freeSlot();
        while ((slot < 0 || mappedBytes + capacity > budget) && retireLeastRecentlyUsed()) {
            slot = freeSlot();
        }
        if (slot < 0 || mappedBytes + capacity > budget) {
            return null;
        }
        java.nio.file.Path path = directory.newPayloadFile();
        try {
            PayloadFile f = PayloadFile.create(path, slot, capacity);
            files[slot] = f;
            mappedBytes += capacity;
            return f;
        } catch (IOException | RuntimeException e) {
            long held = CANNOT_CREATE.admit(directory.path());
            if (held >= 0) {
                LOG.log(System.Logger.Level.WARNING, "cannot make a payload file of {0} bytes in {1}: {2}; large "
                        + "messages go through the ring{3}", capacity, directory.path(), e.toString(),
                        held == 0 ? "" : " (" + held + " more since the last report)");
            }
            return null;
        }
    }

    private int freeSlot() {
        for (int i = 0; i < SLOTS; i++) {
            if (files[i] == null) {
                return i;
            }
        }
        return -1;
    }

    /** Retires the free file used longest ago; false when every file holds a body. */
    private boolean retireLeastRecentlyUsed() {
        PayloadFile oldest = null;
        for (PayloadFile f : files) {
            if (f != null && (oldest == null || f.lastUsedNanos - oldest.lastUsedNanos < 0)
                    && f.state() == PayloadFile.FREE) {
                oldest = f;
            }
        }
        if (oldest == null) {
            return false;
        }
        retire(oldest);
        return true;
    }

    /** Marks {@code f} RETIRED (the reader unmaps it when it sees that) and lets it go here. */
    private void retire(PayloadFile f) {
        f.state(PayloadFile.RETIRED);
        drop(f);
    }

    private void drop(PayloadFile f) {
        files[f.slot] = null;
        mappedBytes -= f.capacity;
        f.unmap();      // only this side's mapping: under the lock no thread is inside it
        try {
            Files.deleteIfExists(f.path);      // a file the reader never took (its name is gone once it did)
        } catch (IOException e) {
            // a starting transport removes it
        }
    }

    /** Retires the files no body used for {@value #IDLE_MS} ms. The loop's tick. */
    synchronized void trim(long nowNanos) {
        if (mappedBytes == 0) {
            return;
        }
        for (PayloadFile f : files) {
            if (f != null && nowNanos - f.lastUsedNanos > IDLE_NS && f.state() == PayloadFile.FREE) {
                retire(f);
            }
        }
    }

    /** Bytes of data in this direction's files now (for tests and statistics). */
    synchronized long mappedBytes() {
        return mappedBytes;
    }

    /** Lets every file go; later puts decline. The peer's side unmaps its own mappings when it closes. */
    synchronized void close() {
        closed = true;
        for (PayloadFile f : files) {
            if (f != null) {
                drop(f);
            }
        }
    }
}
