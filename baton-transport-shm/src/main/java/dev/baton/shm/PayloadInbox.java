package dev.baton.shm;

import dev.baton.Message;
import dev.baton.spi.MessageAccess;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Executor;

/**
 * The reading side of a connection's payload files: resolves each descriptor ({@link PayloadOutbox} has its layout)
 * to the body in place, maps a file the first time its slot names it, and lends the body as a {@link Message}. The
 * loan ends when the runtime releases the message, when its owner closes it, or, for a message its owner dropped
 * unclosed, when the collector finds it unreachable (a {@link Cleaner}): then the file is FREE for the writer again.
 *
 * <p>Everything in a descriptor is checked before it is used, like a ring position: the slot, the name (a payload
 * file of this directory, checked as ring files are), the length (within the file and the maximum message size),
 * and the file's state (IN_USE, not lent already). A wrong descriptor is an {@link IllegalArgumentException}: the
 * connection closes with a protocol error.
 *
 * <p>A file is unmapped when the writer retires it, or when the connection closes, but never while its body is
 * lent: a late reader sees its bytes, not an unmapped page.
 *
 * <p>Thread-safe: the reading role takes, the loop's tick sweeps, any thread ends a loan, all under this object's
 * lock.
 */
final class PayloadInbox {

    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final Cleaner LOANS = Cleaner.create(r -> {
        Thread t = new Thread(r, "baton-shm-loans");
        t.setDaemon(true);
        return t;
    });
    private static final int UNMAP_ATTEMPTS = 100;

    private final ShmDirectory directory;
    private final Executor later;               // the loop: retries an unmap a borrower's late access refused
    private final PayloadFile[] files = new PayloadFile[PayloadOutbox.SLOTS];
    private int mapped;
    private boolean closed;

    PayloadInbox(ShmDirectory directory, Executor later) {
        this.directory = directory;
        this.later = later;
    }

    /** The body {@code src}[{@code offset}, + {@code length}) describes, lent. The reading role. */
    synchronized Message take(ByteBuffer src, int offset, int length, int maxLength) {
        if (length < PayloadOutbox.DESCRIPTOR_BYTES) {
            throw bad("a payload descriptor of " + length + " bytes");
        }
        int slot = Byte.toUnsignedInt(src.get(offset));
        int flags = Byte.toUnsignedInt(src.get(offset + 1));
        int nameLength = Short.toUnsignedInt(src.getShort(offset + 2));
        int bodyLength = src.getInt(offset + 4);
        if (slot >= PayloadOutbox.SLOTS || flags != 0 || nameLength > PayloadOutbox.MAX_NAME
                || length != PayloadOutbox.DESCRIPTOR_BYTES + nameLength) {
            throw bad("a malformed payload descriptor (slot " + slot + ", flags " + flags + ", name of " + nameLength
                    + " bytes, " + length + " bytes in all)");
        }
        if (closed) {
            throw bad("a payload descriptor after the connection closed");
        }
        PayloadFile f = files[slot];
        if (nameLength > 0) {
            if (f != null) {
                if (f.lent || f.state() != PayloadFile.RETIRED) {
                    throw bad("a new payload file for slot " + slot + ", whose file is still in use");
                }
                forget(f);
            }
            f = open(slot, new String(bytes(src, offset + PayloadOutbox.DESCRIPTOR_BYTES, nameLength),
                    StandardCharsets.US_ASCII));
        } else if (f == null) {
            throw bad("a payload descriptor for slot " + slot + ", which names no file");
        }
        if (f.lent) {
            throw bad("a payload descriptor for slot " + slot + ", whose body is still lent");
        }
        if (bodyLength < 0 || bodyLength > f.capacity || bodyLength > maxLength) {
            throw bad("a payload of " + Integer.toUnsignedString(bodyLength) + " bytes in a file of " + f.capacity
                    + " (the most a message may have here: " + maxLength + ")");
        }
        if (f.state() != PayloadFile.IN_USE) {
            throw bad("a payload descriptor for slot " + slot + ", whose file is not marked in use");
        }
        f.lent = true;
        MemorySegment body = f.body(bodyLength);
        f.loan = LOANS.register(body, new Return(this, f, ++f.loans));
        return MESSAGES.lend(body.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN), f);
    }

    private PayloadFile open(int slot, String name) {
        Path path = directory.payloadFile(name).orElseThrow(() ->
                bad("a payload descriptor that names '" + name + "', not a payload file of ours"));
        PayloadFile f;
        try {
            f = PayloadFile.open(path, directory.owner(), slot, this);
        } catch (IOException e) {
            throw bad(e.getMessage());
        }
        files[slot] = f;
        mapped++;
        return f;
    }

    private static byte[] bytes(ByteBuffer src, int offset, int length) {
        byte[] b = new byte[length];
        src.get(offset, b);
        return b;
    }

    private static IllegalArgumentException bad(String what) {
        return new IllegalArgumentException("the peer sent " + what);
    }

    /** The loan of {@code f}'s body ended (its message was released or closed). Any thread. */
    void returned(PayloadFile f) {
        Cleaner.Cleanable loan;
        synchronized (this) {
            loan = f.loan;
        }
        if (loan != null) {
            loan.clean();       // runs its Return once, whoever gets there first: this or the collector
        }
    }

    /** Ends loan number {@code loan} of {@code f}, if it is still the current one. */
    private synchronized void ended(PayloadFile f, long loan) {
        if (!f.lent || f.loans != loan) {
            return;
        }
        f.lent = false;
        f.loan = null;
        if (files[f.slot] != f) {
            unmap(f, UNMAP_ATTEMPTS);       // the connection closed while it was lent
        } else {
            f.state(PayloadFile.FREE);
        }
    }

    /** Unmaps the files the writer retired and nothing borrows. The loop's tick. */
    synchronized void sweep() {
        if (mapped == 0) {
            return;
        }
        for (PayloadFile f : files) {
            if (f != null && !f.lent && f.state() == PayloadFile.RETIRED) {
                forget(f);
            }
        }
    }

    private void forget(PayloadFile f) {
        files[f.slot] = null;
        mapped--;
        unmap(f, UNMAP_ATTEMPTS);
    }

    /** Files mapped now (for tests). */
    synchronized int mapped() {
        return mapped;
    }

    /** Unmaps every file nothing borrows; a lent one goes when its loan ends. Later descriptors are refused. */
    synchronized void close() {
        closed = true;
        for (PayloadFile f : files) {
            if (f != null) {
                files[f.slot] = null;
                mapped--;
                if (!f.lent) {
                    unmap(f, UNMAP_ATTEMPTS);
                }
            }
        }
    }

    private void unmap(PayloadFile f, int attempts) {
        if (!f.unmap() && attempts > 0) {
            later.execute(() -> unmap(f, attempts - 1));
        }
    }

    /** A loan's end, run once: by {@link #returned}, or by the collector once the lent body is unreachable. */
    private record Return(PayloadInbox inbox, PayloadFile file, long loan) implements Runnable {
        @Override
        public void run() {
            inbox.ended(file, loan);
        }
    }
}
