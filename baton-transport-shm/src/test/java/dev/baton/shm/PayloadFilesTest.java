package dev.baton.shm;

import dev.baton.Message;
import dev.baton.spi.MessageAccess;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two sides of the large-message path, face to face in one process over a real directory: what a descriptor
 * says, when files are made, reused and retired, and that a wrong descriptor is refused before anything is read.
 */
@Timeout(60)
class PayloadFilesTest {

    private static final MessageAccess MESSAGES = MessageAccess.get();
    private static final int MAX = 256 << 20;

    private final ShmTestDirectory dir = new ShmTestDirectory();
    private final ConcurrentLinkedQueue<Runnable> later = new ConcurrentLinkedQueue<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : toClose.reversed()) {
            c.close();
        }
        assertEquals(List.of(), dir.contents(), "files left behind");
        dir.close();
    }

    private PayloadOutbox outbox(long budget) throws IOException {
        PayloadOutbox o = new PayloadOutbox(ShmDirectory.open(dir.path), budget);
        toClose.add(o::close);
        return o;
    }

    private PayloadInbox inbox() throws IOException {
        PayloadInbox i = new PayloadInbox(ShmDirectory.open(dir.path), later::add);
        toClose.add(i::close);
        return i;
    }

    private static ByteBuffer body(int size, int seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return ByteBuffer.wrap(b);
    }

    /** The descriptor {@code outbox} wrote for {@code body}, as a buffer of its own (position 0, limit its end). */
    private static ByteBuffer put(PayloadOutbox outbox, ByteBuffer body) {
        ByteBuffer d = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        int n = outbox.put(body, d, 0);
        assertTrue(n >= PayloadOutbox.DESCRIPTOR_BYTES, "put declined");
        assertEquals(0, body.position(), "the body's position moved");
        return d.limit(n);
    }

    private static Message take(PayloadInbox inbox, ByteBuffer descriptor) {
        return inbox.take(descriptor, 0, descriptor.limit(), MAX);
    }

    private static boolean named(ByteBuffer descriptor) {
        return descriptor.getShort(2) != 0;
    }

    private static void assertSameBytes(ByteBuffer expected, Message actual) {
        assertEquals(expected.remaining(), actual.size());
        assertEquals(expected, ByteBuffer.wrap(actual.toByteArray()));
    }

    @Test
    void aBodyIsLentInPlaceAndItsFileReusedOnlyOnceTheLoanEnds() throws IOException {
        PayloadOutbox out = outbox(64 << 20);
        PayloadInbox in = inbox();
        ByteBuffer first = body(1 << 20, 1);
        ByteBuffer d1 = put(out, first);
        assertTrue(named(d1), "a new file is named the first time");
        Message m1 = take(in, d1);
        assertSameBytes(first, m1);

        ByteBuffer second = body(700_000, 2);
        ByteBuffer d2 = put(out, second);
        assertTrue(named(d2), "the first file is lent: a second one is made");
        assertEquals(2L << 20, out.mappedBytes(), "two files of 1 MiB (700,000 rounds up)");
        Message m2 = take(in, d2);
        assertSameBytes(second, m2);
        assertSameBytes(first, m1);     // untouched by the second body

        MESSAGES.release(m1);
        ByteBuffer third = body(1 << 20, 3);
        ByteBuffer d3 = put(out, third);
        assertTrue(!named(d3) && d3.get(0) == d1.get(0), "the file the first loan gave back is reused");
        Message m3 = take(in, d3);
        assertSameBytes(third, m3);
        MESSAGES.release(m3);
        MESSAGES.release(m2);
        assertEquals(2, in.mapped());
    }

    @Test
    void overItsBudgetTheWriterDeclinesInsteadOfWaiting() throws IOException {
        PayloadOutbox out = outbox(256 * 1024);
        PayloadInbox in = inbox();
        List<Message> held = new ArrayList<>();
        held.add(take(in, put(out, body(100_000, 1))));
        held.add(take(in, put(out, body(100_000, 2))));
        ByteBuffer d = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(-1, out.put(body(100_000, 3), d, 0), "both files are lent and the budget is spent");
        assertEquals(-1, out.put(body(512 * 1024, 4), d, 0), "larger than the budget");
        MESSAGES.release(held.removeFirst());
        assertTrue(out.put(body(100_000, 5), d, 0) > 0, "a file came back");
        held.forEach(MESSAGES::release);
    }

    @Test
    void aLoanWhoseMessageIsDroppedUnclosedEndsWhenItIsCollected() throws Exception {
        PayloadOutbox out = outbox(64 << 20);
        PayloadInbox in = inbox();
        ByteBuffer d1 = put(out, body(200_000, 1));
        Message owned = MESSAGES.own(take(in, d1));     // a caller's response: its own, to close or drop
        assertEquals(200_000, owned.size());
        owned = null;
        ByteBuffer d = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        long deadline = System.nanoTime() + 10_000_000_000L;
        boolean reused = false;
        while (!reused && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
            // A put into the first file (the smallest free one, first in order) means its loan ended.
            int n = out.put(body(200_000, 2), d, 0);
            assertTrue(n > 0);
            ByteBuffer descriptor = d.duplicate().order(ByteOrder.LITTLE_ENDIAN).limit(n);
            reused = descriptor.get(0) == d1.get(0);
            MESSAGES.release(take(in, descriptor));
        }
        assertTrue(reused, "the dropped loan was never returned");
    }

    @Test
    void idleFilesAreRetiredByTheWriterAndUnmappedByTheReader() throws IOException {
        PayloadOutbox out = outbox(64 << 20);
        PayloadInbox in = inbox();
        Message first = take(in, put(out, body(300_000, 1)));
        Message lent = take(in, put(out, body(300_000, 2)));
        MESSAGES.release(first);
        out.trim(System.nanoTime() + 2_000_000_000L);
        assertEquals(512 * 1024, out.mappedBytes(), "the free file is retired, the lent one stays");
        in.sweep();
        assertEquals(1, in.mapped());
        MESSAGES.release(lent);
        out.trim(System.nanoTime() + 2_000_000_000L);
        in.sweep();
        assertEquals(0, out.mappedBytes());
        assertEquals(0, in.mapped());
    }

    @Test
    void aBodyLentWhenTheConnectionClosesStaysReadableUntilItsLoanEnds() throws IOException {
        PayloadOutbox out = outbox(64 << 20);
        PayloadInbox in = inbox();
        ByteBuffer b = body(500_000, 7);
        Message lent = take(in, put(out, b));
        out.close();
        in.close();
        assertSameBytes(b, lent);
        MESSAGES.release(lent);
        assertTrue(later.isEmpty(), "the unmap was refused and deferred");
        assertThrows(IllegalArgumentException.class, () -> take(in, put(outbox(1 << 20), body(70_000, 1))),
                "a descriptor after the close");
    }

    /** Every way a descriptor can be wrong is refused, with a message, before anything is read from it. */
    @Test
    void wrongDescriptorsAreRefused() throws IOException {
        PayloadOutbox out = outbox(64 << 20);
        PayloadInbox in = inbox();
        ByteBuffer good = put(out, body(100_000, 1));

        assertRefused(in, descriptor(0, 0, "", 100).limit(4), "a short descriptor");
        assertRefused(in, descriptor(64, 0, "", 100), "slot out of range");
        assertRefused(in, descriptor(0, 1, "", 100), "flags");
        assertRefused(in, descriptor(3, 0, "", 100), "a slot that names no file");
        assertRefused(in, descriptor(0, 0, "../../../etc/passwd", 100), "a path");
        assertRefused(in, descriptor(0, 0, "ring-1-1", 100), "a ring file's name");
        assertRefused(in, descriptor(0, 0, "pay-1-999999", 100), "a file that does not exist");

        ByteBuffer tooLong = put(outbox(64 << 20), body(100_000, 2));
        tooLong.put(0, (byte) 9).putInt(4, 200_000);
        assertRefused(in, tooLong, "longer than its file");

        Message m = take(in, good);
        assertRefused(in, descriptor(good.get(0), 0, "", 100), "a slot whose body is lent");
        assertRefused(in, descriptor(good.get(0), 0, "pay-1-1", 100), "a new file for a slot in use");
        MESSAGES.release(m);
        assertRefused(in, descriptor(good.get(0), 0, "", 100), "a file not marked in use");

        // A file of the right name that another process could have made readable to others.
        var open = dir.path.resolve("pay-1-424242");
        Files.write(open, new byte[PayloadFile.HEADER_BYTES + PayloadFile.MIN_CAPACITY]);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        assertRefused(in, descriptor(5, 0, "pay-1-424242", 100), "a file open to others");
        assertTrue(Files.notExists(open), "its name is deleted");
    }

    private static ByteBuffer descriptor(int slot, int flags, String name, int length) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer d = ByteBuffer.allocate(8 + n.length).order(ByteOrder.LITTLE_ENDIAN);
        d.put(0, (byte) slot).put(1, (byte) flags).putShort(2, (short) n.length).putInt(4, length).put(8, n);
        return d;
    }

    private static void assertRefused(PayloadInbox in, ByteBuffer descriptor, String what) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> take(in, descriptor), what);
        assertTrue(e.getMessage().startsWith("the peer sent"), what + ": " + e.getMessage());
    }
}
