package dev.baton.shm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ring alone: bytes across the wrap (read and copied, or shown in place), room and input, the wake-up flags, and
 * a peer that corrupts it.
 */
@Timeout(30)
class ShmRingTest {

    private static final int CAPACITY = 4096;

    /** Two views of one ring, as the two processes have: the producer's and the consumer's. */
    private record Ends(ShmRing producer, ShmRing consumer, MemorySegment control) {
    }

    private static Ends ring(Arena arena) {
        MemorySegment control = arena.allocate(ShmRing.CONTROL_BYTES, 128);
        MemorySegment data = arena.allocate(CAPACITY, 128);
        return new Ends(new ShmRing(control, data), new ShmRing(control, data), control);
    }

    @Test
    void bytesArriveInOrderAcrossTheWrapWhateverTheSizesOfWritesAndReads() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            Random random = new Random(42);
            byte[] sent = new byte[1 << 20];
            random.nextBytes(sent);
            ByteBuffer src = ByteBuffer.wrap(sent);
            ByteBuffer received = ByteBuffer.allocate(sent.length);
            for (int round = 0; round < 100_000 && received.hasRemaining(); round++) {
                ByteBuffer part = src.slice(src.position(), Math.min(src.remaining(), 1 + random.nextInt(3000)));
                src.position(src.position() + e.producer().write(part));
                ByteBuffer into = received.slice(received.position(),
                        Math.min(received.remaining(), 1 + random.nextInt(3000)));
                received.position(received.position() + e.consumer().read(into));
            }
            assertFalse(received.hasRemaining(), "everything arrived");
            assertArrayEquals(sent, received.array());
        }
    }

    /** In place: the bytes up to the wrap, then the rest; their room is free only once consumed. */
    @Test
    void peekShowsTheArrivedBytesUpToTheWrapAndConsumeFreesTheirRoom() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            assertNull(e.consumer().peek(), "nothing arrived");
            byte[] first = new byte[CAPACITY - 100];
            new Random(1).nextBytes(first);
            e.producer().write(ByteBuffer.wrap(first));
            e.consumer().read(ByteBuffer.allocate(CAPACITY - 100));     // the next bytes start 100 before the end
            byte[] sent = new byte[300];
            new Random(2).nextBytes(sent);
            assertEquals(300, e.producer().write(ByteBuffer.wrap(sent)));
            ByteBuffer view = e.consumer().peek();
            assertEquals(100, view.remaining(), "contiguous up to the ring's end");
            assertEquals(ByteOrder.LITTLE_ENDIAN, view.order());
            byte[] got = new byte[300];
            view.get(view.position(), got, 0, 100);
            e.consumer().consume(40);
            assertEquals(CAPACITY - 260, e.producer().write(ByteBuffer.allocate(CAPACITY)),
                    "the room of the 40 bytes consumed is free, not that of the 60 shown");
            view = e.consumer().peek();
            assertEquals(60, view.remaining(), "the rest up to the end");
            e.consumer().consume(60);
            ByteBuffer wrapped = e.consumer().peek();
            assertEquals(0, wrapped.position(), "after the wrap, from the start of the data region");
            assertEquals(CAPACITY - 60, wrapped.remaining());
            wrapped.get(0, got, 100, 200);
            assertArrayEquals(sent, got);
            assertThrows(IllegalArgumentException.class, () -> e.consumer().consume(wrapped.remaining() + 1),
                    "more than it showed");
            e.consumer().consume(200);
            byte[] rest = new byte[CAPACITY];
            assertEquals(CAPACITY - 260, e.consumer().read(ByteBuffer.wrap(rest)), "copied reads go on after it");
        }
    }

    /** A gather write is published once: the consumer sees every buffer of it, never a header without its body. */
    @Test
    void severalBuffersArePublishedTogetherAsFarAsTheRoomGoes() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            ByteBuffer[] batch = {ByteBuffer.allocate(40), ByteBuffer.allocate(1000), ByteBuffer.allocate(CAPACITY)};
            assertEquals(CAPACITY, e.producer().write(batch, 0, 3), "as far as the room goes");
            assertEquals(CAPACITY - 1040, batch[2].position());
            assertEquals(CAPACITY, e.consumer().peek().remaining(), "all of it published at once");
            e.consumer().consume(1040);
            assertEquals(1040, e.producer().write(new ByteBuffer[] {batch[2]}, 0, 1), "the rest, into the room freed");
            assertFalse(batch[2].hasRemaining());
        }
    }

    @Test
    void peekChecksTheWritePositionAsReadDoes() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            for (long bad : new long[] {CAPACITY + 1, -1, Long.MAX_VALUE, Long.MIN_VALUE}) {
                e.control().set(ValueLayout.JAVA_LONG, 0, bad);
                IOException x = assertThrows(IOException.class, () -> e.consumer().peek());
                assertTrue(x.getMessage().contains("corrupt"), x.getMessage());
            }
        }
    }

    @Test
    void aFullRingTakesNothingAndAnEmptyOneGivesNothing() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            assertFalse(e.consumer().hasInput());
            assertEquals(0, e.consumer().read(ByteBuffer.allocate(10)));
            assertEquals(CAPACITY, e.producer().write(ByteBuffer.allocate(CAPACITY + 100)));
            assertFalse(e.producer().hasRoom());
            assertEquals(0, e.producer().write(ByteBuffer.allocate(1)));
            assertTrue(e.consumer().hasInput());
            assertEquals(10, e.consumer().read(ByteBuffer.allocate(10)));
            assertTrue(e.producer().hasRoom());
        }
    }

    @Test
    void onlyTheSideThatFindsTheOtherAsleepRingsAndOnlyOnce() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            e.producer().write(ByteBuffer.allocate(1));
            assertFalse(e.producer().takeReaderParked(), "the reader is awake: no bell");
            e.consumer().markReaderParked();
            e.producer().write(ByteBuffer.allocate(1));
            assertTrue(e.producer().takeReaderParked(), "the reader sleeps: ring");
            assertFalse(e.producer().takeReaderParked(), "rung once");
            e.producer().markWriterWaiting();
            e.consumer().read(ByteBuffer.allocate(2));
            assertTrue(e.consumer().takeWriterWaiting(), "the writer waits for room: ring");
            assertFalse(e.consumer().takeWriterWaiting(), "rung once");
        }
    }

    @Test
    void theEndOfTheStreamComesAfterTheBytesBeforeIt() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            e.producer().write(ByteBuffer.allocate(5));
            e.producer().closeWriter();
            assertTrue(e.consumer().writerClosed());
            assertTrue(e.consumer().hasInput(), "the bytes before the FIN are still there");
            assertEquals(5, e.consumer().read(ByteBuffer.allocate(10)));
            assertFalse(e.consumer().hasInput());
        }
    }

    @Test
    void aPeerThatCorruptsAPositionFailsTheRingWithAnIOExceptionNeverAnAccessOutside() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Ends e = ring(arena);
            e.producer().write(ByteBuffer.allocate(100));
            // A hostile or torn write position: far ahead, behind, and at the extremes.
            for (long bad : new long[] {CAPACITY + 101, -1, Long.MAX_VALUE, Long.MIN_VALUE}) {
                e.control().set(ValueLayout.JAVA_LONG, 0, bad);
                IOException x = assertThrows(IOException.class, () -> e.consumer().read(ByteBuffer.allocate(10)));
                assertTrue(x.getMessage().contains("corrupt"), x.getMessage());
            }
            // A hostile read position, seen by the producer when it looks (it keeps the last one it read, and looks
            // again only when that one leaves too little room: here, for a write as large as the ring).
            e.control().set(ValueLayout.JAVA_LONG, 128, 1L << 40);
            assertEquals(1, e.producer().write(ByteBuffer.allocate(1)), "room enough by the position it knows");
            assertThrows(IOException.class, () -> e.producer().write(ByteBuffer.allocate(CAPACITY)));
            e.control().set(ValueLayout.JAVA_LONG, 128, 102);     // ahead of what was written
            assertThrows(IOException.class, () -> e.producer().write(ByteBuffer.allocate(CAPACITY)));
            assertTrue(e.producer().hasRoom(), "hasRoom keeps the last good position rather than a bad one");
        }
    }
}
