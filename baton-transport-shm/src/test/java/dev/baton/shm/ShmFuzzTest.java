package dev.baton.shm;

import com.code_intelligence.jazzer.junit.FuzzTest;

import dev.baton.fuzz.SeedCorpus;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes what the shared-memory transport reads from the other process, which it does not trust: the ring's
 * positions and bytes ({@link ShmRing}, written by the peer at any time), the ring file the peer made
 * ({@link RingFile#open}: its header, its size), and the ring file name of the set-up message
 * ({@link ShmDirectory#ringFile}, {@link ShmDirectory#pidOf}), and the descriptors of bodies in payload files
 * ({@link PayloadInbox#take}). The frames inside the rings are read by the frame
 * reader every transport shares, fuzzed by baton-compression's FrameStreamFuzzTest.
 *
 * <p>Contract checked: a corrupt ring fails the read or write with {@link IOException}, never reads or writes
 * outside the ring or past the positions the peer published; a wrong ring file is refused with IOException, its
 * name deleted either way; a set-up name resolves only to a file directly inside the directory.
 */
@Timeout(60)
class ShmFuzzTest {

    private static final int CAPACITY = 4096;
    private static Path dir;
    private static ShmDirectory directory;

    @BeforeAll
    static void directory() throws IOException {
        dir = Files.createTempDirectory("baton-shm-fuzz", PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        directory = ShmDirectory.open(dir);
    }

    @AfterAll
    static void removeDirectory() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Input: operations, each an op byte and its operands: 0 the peer publishes a write position (i64), 1 the peer
     * publishes a read position (i64), 2 the peer writes bytes into the data region (offset u16, count u8, bytes),
     * 3 this side reads (up to u8 + 1 bytes), 4 this side writes (u8 + 1 bytes), 5 this side looks at its input in
     * place and consumes up to u8 of those bytes.
     */
    @FuzzTest
    void hostileRingPositionsFailWithIOException(byte[] input) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment control = arena.allocate(ShmRing.CONTROL_BYTES, 128);
            MemorySegment data = arena.allocate(CAPACITY, 128);
            ShmRing consumer = new ShmRing(control, data);
            ShmRing producer = new ShmRing(control, data);
            ByteBuffer in = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
            long consumed = 0;
            long produced = 0;
            while (in.hasRemaining()) {
                int op = Byte.toUnsignedInt(in.get()) % 6;
                try {
                    switch (op) {
                        case 0, 1 -> {
                            if (in.remaining() < 8) {
                                return;
                            }
                            control.set(ValueLayout.JAVA_LONG, op == 0 ? 0 : 128, in.getLong());
                        }
                        case 2 -> {
                            if (in.remaining() < 3) {
                                return;
                            }
                            int offset = Short.toUnsignedInt(in.getShort()) % CAPACITY;
                            int n = Math.min(Math.min(Byte.toUnsignedInt(in.get()), in.remaining()), CAPACITY - offset);
                            byte[] b = new byte[n];
                            in.get(b);
                            MemorySegment.copy(b, 0, data, ValueLayout.JAVA_BYTE, offset, n);
                        }
                        case 3 -> {
                            ByteBuffer dst = ByteBuffer.allocate(1 + (in.hasRemaining() ? in.get() & 0xFF : 0));
                            long published = control.get(ValueLayout.JAVA_LONG, 0);
                            int n = consumer.read(dst);
                            assertTrue(n >= 0 && n <= dst.capacity() && n == dst.position(), "read " + n);
                            consumed += n;
                            assertTrue(n == 0 || consumed <= published, "read past the published write position");
                        }
                        case 5 -> {
                            int want = in.hasRemaining() ? in.get() & 0xFF : 0;
                            long published = control.get(ValueLayout.JAVA_LONG, 0);
                            ByteBuffer view = consumer.peek();
                            if (view != null) {
                                assertTrue(view.position() >= 0 && view.limit() <= CAPACITY && view.hasRemaining(),
                                        "view " + view);
                                int n = Math.min(want, view.remaining());
                                consumer.consume(n);
                                consumed += n;
                                assertTrue(consumed <= published, "consumed past the published write position");
                            }
                        }
                        default -> {
                            ByteBuffer src = ByteBuffer.allocate(1 + (in.hasRemaining() ? in.get() & 0xFF : 0));
                            int n = producer.write(src);
                            assertTrue(n >= 0 && n <= src.capacity() && n == src.position(), "wrote " + n);
                            produced += n;
                        }
                    }
                } catch (IOException corrupt) {
                    assertTrue(corrupt.getMessage().startsWith("corrupt shared-memory ring"), corrupt::getMessage);
                    return;
                }
            }
            assertTrue(produced >= 0);
        }
    }

    /**
     * Input: byte 0 picks the file's size (the size a 4 KiB or 8 KiB ring needs, or that plus up to 255 bytes, or
     * minus); the rest is the header the peer wrote.
     */
    @FuzzTest
    void ringFilesMapOrAreRefusedWithIOException(byte[] input) throws IOException {
        if (input.length == 0) {
            return;
        }
        int choice = Byte.toUnsignedInt(input[0]);
        long size = RingFile.size((choice & 1) == 0 ? CAPACITY : 2 * CAPACITY) + switch ((choice >>> 1) & 3) {
            case 0, 1 -> 0;
            case 2 -> choice >>> 3;
            default -> -(choice >>> 3);
        };
        Path file = dir.resolve("ring-1-" + System.nanoTime());
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            byte[] header = Arrays.copyOfRange(input, 1, (int) Math.min(input.length, 1 + Math.min(size, 1024)));
            Files.write(file, header);
            try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(size);
                if (ch.size() < size) {
                    ch.write(ByteBuffer.allocate(1), size - 1);
                }
            }
            try (RingFile rings = RingFile.open(file, directory.owner())) {
                assertEquals(size, RingFile.size(rings.up.capacity()), "mapped a ring that does not fit its file");
                assertEquals(rings.up.capacity(), rings.down.capacity());
            } catch (IOException refused) {
                assertTrue(refused.getMessage().contains("ring file"), refused::getMessage);
            }
            assertTrue(Files.notExists(file), "the ring file's name is left behind");
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Input: the set-up's name bytes (ASCII, as the transport decodes them). */
    @FuzzTest
    void setUpNamesResolveOnlyInsideTheDirectory(byte[] input) {
        String name = new String(input, StandardCharsets.US_ASCII);
        Optional<Path> file = directory.ringFile(name);
        file.ifPresent(p -> {
            assertEquals(dir, p.getParent(), "a set-up name resolved outside the directory: " + name);
            assertEquals(name, p.getFileName().toString());
        });
        long pid = ShmDirectory.pidOf(name);
        assertTrue(pid >= -1, "pid " + pid);
    }

    /**
     * Input: a payload descriptor, as the peer writes it into the ring ({@link PayloadOutbox} has the layout), read
     * by an inbox that has slot 0 mapped, its body marked in use. Contract: the body is lent (no larger than its file
     * and the maximum, every byte readable) or the descriptor is refused with IllegalArgumentException; a name
     * resolves only to a payload file directly in the directory, and whatever it names is deleted.
     */
    @FuzzTest
    void payloadDescriptorsLendOrAreRefused(byte[] input) throws IOException {
        PayloadInbox inbox = new PayloadInbox(directory, Runnable::run);
        PayloadOutbox outbox = payloadSlotZero(inbox);
        try {
            ByteBuffer d = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
            dev.baton.Message body;
            try {
                body = inbox.take(d, 0, input.length, 100_000);
            } catch (IllegalArgumentException refused) {
                assertTrue(refused.getMessage().startsWith("the peer sent"), refused::getMessage);
                return;
            }
            assertTrue(body.size() <= 100_000, "lent " + body.size() + " bytes");
            if (body.size() > 0) {
                body.getByte(body.size() - 1);
            }
            dev.baton.spi.MessageAccess.get().release(body);
        } finally {
            outbox.close();
            inbox.close();
            try (Stream<Path> left = Files.list(dir)) {
                for (Path p : left.toList()) {
                    assertTrue(p.getFileName().toString().startsWith("pay-"), "an unexpected file: " + p);
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** An outbox whose first body (slot 0, 70,000 bytes) {@code inbox} has mapped and released, then a second put. */
    private static PayloadOutbox payloadSlotZero(PayloadInbox inbox) {
        PayloadOutbox outbox = new PayloadOutbox(directory, 1 << 20);
        ByteBuffer d = ByteBuffer.allocate(128).order(ByteOrder.LITTLE_ENDIAN);
        int n = outbox.put(ByteBuffer.allocate(70_000), d, 0);
        dev.baton.spi.MessageAccess.get().release(inbox.take(d, 0, n, 100_000));
        outbox.put(ByteBuffer.allocate(70_000), d, 0);      // the same file again, in use, named no more
        return outbox;
    }

    /** A ring file as {@link RingFile#create} writes it, a ring in use, and names as the transport makes them. */
    @Test
    @EnabledIfSystemProperty(named = SeedCorpus.PROPERTY, matches = "true")
    void writesSeeds() throws IOException {
        Path file = dir.resolve("ring-1-7");
        try (RingFile rings = RingFile.create(file, CAPACITY)) {
            byte[] header = new byte[1 + 16];
            try (var ch = java.nio.channels.FileChannel.open(file)) {
                ch.read(ByteBuffer.wrap(header, 1, 16));
            }
            SeedCorpus files = SeedCorpus.of(ShmFuzzTest.class, "ringFilesMapOrAreRefusedWithIOException");
            files.write("valid", header);
            header[0] = 1;
            files.write("size-of-the-other-capacity", header);
            header[0] = (byte) (2 << 1 | 5 << 3);
            files.write("size-off-by-5", header);
            rings.up.capacity();
        } finally {
            Files.deleteIfExists(file);
        }
        ByteArrayOutputStream ops = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 4).put((byte) 99).put((byte) 3).put((byte) 49).put((byte) 3).put((byte) 255);
        b.put((byte) 0).putLong(5000).put((byte) 3).put((byte) 10);
        b.put((byte) 1).putLong(-1).put((byte) 4).put((byte) 1);
        ops.write(b.array(), 0, b.position());
        SeedCorpus.of(ShmFuzzTest.class, "hostileRingPositionsFailWithIOException").write("session", ops.toByteArray());
        SeedCorpus names = SeedCorpus.of(ShmFuzzTest.class, "setUpNamesResolveOnlyInsideTheDirectory");
        names.write("ring", "ring-4242-17".getBytes(StandardCharsets.US_ASCII));
        names.write("traversal", "ring-1-1/../../etc/passwd".getBytes(StandardCharsets.US_ASCII));
        names.write("socket", "node-n0-4242.sock".getBytes(StandardCharsets.US_ASCII));
        SeedCorpus payloads = SeedCorpus.of(ShmFuzzTest.class, "payloadDescriptorsLendOrAreRefused");
        ByteBuffer d = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        payloads.write("slot-0", d.putInt(0, 0).putInt(4, 70_000).array().clone());
        payloads.write("too-long", d.putInt(4, 1 << 20).array().clone());
        byte[] named = "pay-1-1/../../x".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer n = ByteBuffer.allocate(8 + named.length).order(ByteOrder.LITTLE_ENDIAN);
        n.put(0, (byte) 1).putShort(2, (short) named.length).putInt(4, 100).put(8, named);
        payloads.write("traversal", n.array());
    }
}
