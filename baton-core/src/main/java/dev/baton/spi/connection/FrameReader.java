package dev.baton.spi.connection;

import dev.baton.Message;
import dev.baton.Metadata;
import dev.baton.spi.FrameType;
import dev.baton.spi.MessageAccess;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The receive side of a {@link FramedConnection}: reads the peer's opening, then frames, from the connection's
 * byte stream, and hands each to the connection. Owned by whoever holds the connection's reading role (the
 * loop, or a polling caller); the fields the loop's tick samples from outside the role are volatile.
 *
 * <p>Until the handshake completes only the peer's opening is read ({@value Handshake#LENGTH} bytes), and then, on a
 * connection that proves a cluster secret, its CHALLENGE, PROOF and MEMBER_KEY, one at a time and no byte beyond
 * each into the same small buffer ({@value SecretHandshake#KEY_FRAME_LENGTH} bytes; {@link SecretHandshake}): a
 * connection that sends its opening a byte at a time, or never, holds no read buffer.
 *
 * <p>Frames that fit the {@value #READ_BUFFER_SIZE}-byte read buffer are parsed in place and their payload copied
 * once into a pooled buffer of its size (a connection whose input lies in memory, {@link InPlaceInput}, has its
 * whole plain frames parsed there, without the read buffer). The read buffer starts at
 * {@value #IDLE_READ_BUFFER_SIZE} bytes (enough for the PINGs and small calls of a quiet connection) and grows to its
 * full size as soon as traffic needs it: a read that fills it, or a frame that does not fit it. It goes back to the
 * pool when the connection is idle. A larger frame first reserves its length from the transport's
 * {@link ReceiveBudget}; its payload is then read straight into a buffer of its own (up to 16 MiB at once;
 * beyond, the buffer grows as bytes arrive). When the budget is spent the frame waits, and the tick retries: its
 * bytes go on arriving into the read buffer until that is full, and only then does the reader stop (the
 * connection stops reading its stream). So a large frame is checked for progress from its header on, holding
 * budget or waiting for it: one that trickles is closed as stalled either way, while one whose sender is ahead
 * of us (a full read buffer) waits without counting as stalled or silent. The declared length is checked
 * against the maximum before anything is allocated, and nothing is allocated for a frame whose bytes have not
 * arrived, except the reservation's buffer.
 */
final class FrameReader {

    static final int READ_BUFFER_SIZE = 64 * 1024;
    /** The read buffer a connection starts with, and goes back to after being idle. */
    static final int IDLE_READ_BUFFER_SIZE = 4 * 1024;
    private static final int MAX_READS_PER_EVENT = 16;
    /** The least body parsed in place ({@link InPlaceInput}); smaller ones cost no less through the read buffer. */
    static final int IN_PLACE_MIN_BODY = 1024;
    /**
     * A frame in progress must complete, or gain at least this many bytes, within {@link #PROGRESS_WINDOW_NS}, or it
     * is stalled.
     */
    static final int MIN_PROGRESS_BYTES = 64 * 1024;
    static final long PROGRESS_WINDOW_NS = 5_000_000_000L;
    private static final MessageAccess MESSAGES = MessageAccess.get();

    private final FramedConnection connection;
    private final TransportCore core;
    private final BufferPool pool;
    private final ReceiveBudget budget;
    private final int maxMessageSize;
    private final FrameHeader header = new FrameHeader();
    private final Handshake handshake;
    private final MessageCompression compression;
    /** The connection, when its input can be parsed where it lies ({@link InPlaceInput}); else null. */
    private final InPlaceInput inPlace;
    /** The version the connection speaks, once the handshake told it: from 3 on, frames may carry metadata. */
    private boolean metadataSpoken;
    private ByteBuffer opening;             // the peer's opening as it arrives; null once the handshake is over
    private boolean openingRead;            // the peer's preface and HELLO were read: what follows is CHALLENGE, PROOF
    private ByteBuffer readBuffer;          // from the pool while traffic needs it; null while idle
    private ByteBuffer largeTarget;         // the payload of a frame larger than the read buffer, as it arrives
    private int largeLength;
    private long reservedBytes;             // budget held for the large frame in progress (or about to start)
    private int awaitedBytes;               // budget the reader waits for; 0 when not waiting
    private volatile boolean waitingForBudget;      // awaitedBytes > 0 and the read buffer full: reading stopped
    private boolean parseFirst;             // resumed after a wait: the read buffer holds a frame to parse
    private boolean growReadBuffer;         // a frame in the read buffer needs the full-size buffer

    /**
     * When bytes last arrived, to the loop's tick: {@link #sampleActivity} moves it to the tick's time when bytes
     * came since the previous tick (so it lags by up to a tick, and keepalive and idleness err late, never early),
     * and reading makes no clock call (one is about 28 ns on this machine's virtual clock, per read).
     */
    volatile long lastReadNanos = System.nanoTime();
    private long bytesReadAtTick;           // the loop's tick only
    /** Bytes read from the stream since start: with the frames delivered, what the progress check samples. */
    private volatile long bytesRead;
    private volatile long framesDelivered;
    /** A large frame is arriving (or waiting for budget). */
    private volatile boolean largeInProgress;
    /** The read buffer holds part of a frame. */
    private volatile boolean partialFrame;

    private final FrameProgress progress = new FrameProgress();     // the loop's tick only

    FrameReader(FramedConnection connection, TransportCore core) {
        this.connection = connection;
        this.core = core;
        this.pool = core.pool();
        this.budget = core.budget();
        this.maxMessageSize = core.settings().maxMessageSize();
        this.handshake = new Handshake(core.settings().protocolVersion());
        this.compression = new MessageCompression(core);
        this.inPlace = connection instanceof InPlaceInput i ? i : null;
    }

    /** Reads and dispatches what has arrived. Reading role held. */
    void readAndDispatch() throws IOException {
        try {
            for (int i = 0; i < MAX_READS_PER_EVENT && connection.state() != FramedConnection.CLOSED; i++) {
                if (awaitedBytes > 0) {
                    if (!readWhileWaiting()) {
                        return;     // the tick resumes once the budget has room
                    }
                    continue;
                }
                if (connection.state() == FramedConnection.HANDSHAKE) {
                    if (!readOpening()) {
                        return;
                    }
                    continue;
                }
                if (largeTarget != null) {
                    if (!readLarge()) {
                        return;
                    }
                    continue;
                }
                if (inPlace != null && !parseFirst && (readBuffer == null || readBuffer.position() == 0)
                        && parseInPlace()) {
                    continue;
                }
                if (readBuffer == null) {
                    readBuffer = pool.acquire(IDLE_READ_BUFFER_SIZE);
                    core.bufferHeld(readBuffer.capacity());
                } else if (growReadBuffer) {
                    growReadBuffer();
                }
                if (parseFirst) {
                    // The header that waited for budget is still here, and the buffer may be full: parse before
                    // reading, or no read would ever make room for it.
                    parseFirst = false;
                    readBuffer.flip();
                    try {
                        parse(readBuffer, false);
                    } finally {
                        readBuffer.compact();
                    }
                    continue;
                }
                int room = readBuffer.remaining();
                int n = connection.readBytes(readBuffer);
                if (n < 0) {
                    connection.endOfStream();
                    return;
                }
                if (n == 0) {
                    return;
                }
                received(n);
                growReadBuffer |= n == room && readBuffer.capacity() < READ_BUFFER_SIZE;    // more is coming
                readBuffer.flip();
                try {
                    parse(readBuffer, false);
                } finally {
                    readBuffer.compact();
                }
                if (n < room && connection.shortReadDrains()) {
                    return;     // the stream is empty: its readiness brings the loop back when more comes
                }
            }
        } finally {
            partialFrame = readBuffer != null && readBuffer.position() > 0;
            if (connection.state() == FramedConnection.CLOSED) {
                releaseAll();
            }
        }
    }

    /** Parses the frames {@link InPlaceInput} shows where they lie; false when it consumed none. */
    private boolean parseInPlace() throws IOException {
        ByteBuffer view = inPlace.inputInPlace();
        if (view == null || view.remaining() < FrameLayout.HEADER_LENGTH + IN_PLACE_MIN_BODY) {
            return false;       // nothing, or no frame to take: small ones are not read where they lie at all
        }
        int start = view.position();
        header.newRead();       // before the frames: they were received now
        try {
            parse(view, true);
        } catch (IllegalStateException e) {
            if (connection.state() != FramedConnection.CLOSED) {
                throw e;
            }
            return false;       // the close unmapped the input meanwhile
        }
        int used = view.position() - start;
        if (used > 0 && connection.state() != FramedConnection.CLOSED) {     // a handler may have closed it
            bytesRead += used;
            inPlace.consumeInPlace(used);
        }
        return used > 0;
    }

    /** Moves what the read buffer holds into a full-size one. */
    private void growReadBuffer() {
        growReadBuffer = false;
        ByteBuffer small = readBuffer;
        if (small.capacity() >= READ_BUFFER_SIZE) {
            return;
        }
        ByteBuffer full = pool.acquire(READ_BUFFER_SIZE);
        full.put(small.flip());
        core.bufferHeld(full.capacity() - small.capacity());
        pool.recycle(small);
        readBuffer = full;
    }

    /**
     * Reads the peer's opening (then its CHALLENGE and PROOF, one at a time) and no byte beyond (frames that follow
     * are read into the read buffer); true when a whole one was handled and the connection is still there.
     */
    private boolean readOpening() throws IOException {
        if (opening == null) {
            opening = ByteBuffer.allocate(SecretHandshake.KEY_FRAME_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        }
        opening.limit(openingRead ? connection.secretFrameLength() : Handshake.LENGTH);    // no byte beyond it
        int n = connection.readBytes(opening);
        if (n < 0) {
            connection.endOfStream();
            return false;
        }
        if (n == 0) {
            return false;
        }
        received(n);
        opening.flip();
        boolean whole = parseHandshake(opening);
        opening.compact();
        if (connection.state() != FramedConnection.HANDSHAKE) {
            opening = null;
        }
        return whole && connection.state() != FramedConnection.CLOSED;
    }

    /**
     * Waiting for budget: reads more of the frame into the read buffer, which holds its header, until the buffer
     * is full; then stops reading the stream. False when nothing more can be read now.
     */
    private boolean readWhileWaiting() throws IOException {
        if (!readBuffer.hasRemaining()) {
            if (!waitingForBudget) {
                waitingForBudget = true;
                connection.syncReadInterestLater();
            }
            return false;
        }
        int n = connection.readBytes(readBuffer);
        if (n < 0) {
            connection.endOfStream();
            return false;
        }
        if (n == 0) {
            return false;
        }
        received(n);
        return true;
    }

    /** Bytes read from the connection since it opened. Any thread (a racy but untorn read). */
    long bytesRead() {
        return bytesRead;
    }

    private void received(int n) {
        bytesRead += n;
        header.newRead();
    }

    /** On the loop's tick, before anything looks at {@link #lastReadNanos}: see there. */
    void sampleActivity(long nowNanos) {
        long b = bytesRead;
        if (b != bytesReadAtTick) {
            bytesReadAtTick = b;
            lastReadNanos = nowNanos;
        }
    }

    /** Reads into the large frame's own buffer; false when nothing more is ready. */
    private boolean readLarge() throws IOException {
        int n = connection.readBytes(largeTarget);
        if (n < 0) {
            connection.endOfStream();
            return false;
        }
        if (n > 0) {
            received(n);
        }
        if (!largeTarget.hasRemaining()) {
            if (largeTarget.limit() < largeLength) {
                growLargeTarget();
                return true;
            }
            ByteBuffer target = largeTarget;
            largeTarget = null;
            largeInProgress = false;
            budget.release(reservedBytes);
            reservedBytes = 0;
            if (header.encoding != 0) {
                ByteBuffer message = decompress(target, 0, largeLength);
                pool.recycle(target);
                if (message == null) {
                    return false;
                }
                target = message;
            } else {
                target.limit(largeLength).position(0);
            }
            framesDelivered++;
            connection.deliver(header, MESSAGES.lend(target, pool));
            return true;
        }
        return n > 0;
    }

    private void growLargeTarget() {
        ByteBuffer old = largeTarget;
        int size = (int) Math.min(largeLength, (long) old.capacity() * 2);
        ByteBuffer bigger = pool.acquire(size);
        bigger.put(0, old, 0, old.limit());
        bigger.limit(size).position(old.limit());
        pool.recycle(old);
        largeTarget = bigger;
    }

    /** Delivers the frames {@code b} holds; {@code inPlace}: those it may take in place only, then stops. */
    private void parse(ByteBuffer b, boolean inPlace) {
        while (connection.state() == FramedConnection.OPEN && b.remaining() >= FrameLayout.HEADER_LENGTH) {
            int p = b.position();
            long length = Integer.toUnsignedLong(b.getInt(p + FrameLayout.OFF_LENGTH));
            int type = b.get(p + FrameLayout.OFF_TYPE);
            if (type <= FrameType.HELLO || type > FrameType.MAX) {
                connection.protocolError("unknown frame type " + type);
                return;
            }
            if (length > maxMessageSize) {
                connection.protocolError("frame declares " + length + " payload bytes, more than the maximum " + maxMessageSize);
                return;
            }
            int len = (int) length;
            int meta = metadataSpoken ? b.getInt(p + FrameLayout.OFF_METADATA_LENGTH) : 0;
            if (meta != 0 && !checkMetadataLength(type, meta, len)) {
                return;
            }
            int encoding = Byte.toUnsignedInt(b.get(p + FrameLayout.OFF_ENCODING));
            if (inPlace && (meta != 0 || encoding != 0 || len < IN_PLACE_MIN_BODY
                    || FrameLayout.HEADER_LENGTH + len > Math.min(b.remaining(), READ_BUFFER_SIZE))) {
                return;     // the copying path reads it
            }
            if (encoding != 0
                    && !checkEncoding(type, encoding, Short.toUnsignedInt(b.getShort(p + FrameLayout.OFF_STATUS)), len - meta)) {
                return;
            }
            if (b.remaining() >= FrameLayout.HEADER_LENGTH + len) {
                header.read(b, p, len - meta);
                header.type = type;             // as checked: in place, the peer may have changed the byte since
                header.encoding = encoding;
                if (meta != 0 && !readMetadata(b, p, meta)) {
                    return;
                }
                Message payload;
                int body = len - meta;
                if (encoding == FrameLayout.ENCODING_OUT_OF_BAND) {
                    payload = takeOutOfBand(b, p + FrameLayout.HEADER_LENGTH + meta, body);
                    if (payload == null) {
                        return;
                    }
                } else if (encoding != 0) {
                    ByteBuffer message = decompress(b, p + FrameLayout.HEADER_LENGTH + meta, body);
                    if (message == null) {
                        return;
                    }
                    payload = MESSAGES.lend(message, pool);
                } else if (body == 0) {
                    payload = Message.empty();
                } else {
                    ByteBuffer target = pool.acquire(body);
                    target.put(0, b, p + FrameLayout.HEADER_LENGTH + meta, body);
                    payload = MESSAGES.lend(target.limit(body).position(0), pool);
                }
                b.position(p + FrameLayout.HEADER_LENGTH + len);
                framesDelivered++;
                connection.deliver(header, payload);
            } else if (FrameLayout.HEADER_LENGTH + len > READ_BUFFER_SIZE
                    && b.remaining() >= FrameLayout.HEADER_LENGTH + meta) {
                if (!startLarge(b, p, len, meta)) {
                    return;
                }
            } else {
                // Not all here yet. A large frame starts once its header and metadata are, which always fit.
                growReadBuffer |= FrameLayout.HEADER_LENGTH + Math.min(len, READ_BUFFER_SIZE) > b.capacity();
                return;
            }
        }
    }

    /**
     * Checks a declared metadata length before anything is read or allocated for it: only requests and responses
     * carry metadata, at most {@link Metadata#MAX_ENCODED_SIZE} bytes of it, within the frame's length.
     */
    private boolean checkMetadataLength(int type, int meta, int len) {
        if ((type != FrameType.REQUEST && type != FrameType.RESPONSE) || meta < 0 || meta > Metadata.MAX_ENCODED_SIZE
                || meta > len) {
            connection.protocolError("frame of type " + type + " and " + len + " bytes declares "
                    + Integer.toUnsignedString(meta) + " bytes of metadata");
            return false;
        }
        return true;
    }

    /**
     * Checks a compressed frame's header before anything is read or allocated for it: only a request or a successful
     * response may be compressed, with an encoding this side told the peer it reads, and with room for the length
     * prefix; or carried out of band, on a connection that offers it, behind a descriptor of a sane length.
     */
    private boolean checkEncoding(int type, int encoding, int status, int body) {
        boolean readable = encoding == FrameLayout.ENCODING_OUT_OF_BAND
                ? connection.outOfBandBodies() != null && body > 0 && body <= OutOfBandBodies.MAX_DESCRIPTOR
                : compression.reads(encoding) && body >= FrameLayout.COMPRESSED_PREFIX;
        if ((type != FrameType.REQUEST && (type != FrameType.RESPONSE || status != 0)) || !readable) {
            connection.protocolError("frame of type " + type + ", status " + status + " and " + body
                    + " message bytes claims encoding " + encoding + ", which this side did not offer or which "
                    + "cannot apply to it");
            return false;
        }
        return true;
    }

    /**
     * The compressed message {@code src}[{@code offset}, + {@code length}) decompressed into a pooled buffer (its
     * declared size checked before allocation), or null when it is malformed: a protocol error, the connection closed.
     */
    private ByteBuffer decompress(ByteBuffer src, int offset, int length) {
        try {
            int max = maxMessageSize - (header.metadata == null ? 0 : header.metadata.encodedSize());
            ByteBuffer message = compression.decompress(header.encoding, src, offset, length, max);
            header.length = message.remaining();
            return message;
        } catch (IllegalArgumentException malformed) {
            connection.protocolError(malformed.getMessage());
            return null;
        }
    }

    /**
     * The body a descriptor at {@code src}[{@code offset}, + {@code length}) names, lent in place by the transport,
     * or null when the descriptor is wrong: a protocol error, the connection closed.
     */
    private Message takeOutOfBand(ByteBuffer src, int offset, int length) {
        try {
            int max = maxMessageSize - (header.metadata == null ? 0 : header.metadata.encodedSize());
            Message body = connection.outOfBandBodies().take(src, offset, length, max);
            header.length = body.size();
            bytesRead += body.size();       // it was received, beside the stream
            return body;
        } catch (IllegalArgumentException malformed) {
            connection.protocolError(malformed.getMessage());
            return null;
        }
    }

    /** Decodes the metadata that follows the header at {@code p} into the header; false (closed) when malformed. */
    private boolean readMetadata(ByteBuffer b, int p, int meta) {
        try {
            header.metadata = Metadata.decode(b, p + FrameLayout.HEADER_LENGTH, meta);
            return true;
        } catch (IllegalArgumentException malformed) {
            connection.protocolError(malformed.getMessage());
            return false;
        }
    }

    /**
     * A frame too large for the read buffer: reserve its length, then read its payload into a buffer of its own.
     * False when the budget is spent: the header stays in the read buffer, which takes the bytes that follow
     * until it is full, and the tick retries ({@link #retryBudget}). The frame's progress is checked from now on.
     */
    private boolean startLarge(ByteBuffer b, int p, int len, int meta) {
        if (reservedBytes == 0) {
            if (!budget.tryReserve(len)) {
                awaitedBytes = len;
                largeInProgress = true;
                return false;
            }
            reservedBytes = len;
        }
        int body = len - meta;
        header.read(b, p, body);
        if (meta != 0 && !readMetadata(b, p, meta)) {
            return false;
        }
        // Up to 16 MiB the payload's final buffer is allocated at once and read into directly (no second copy);
        // beyond, it grows (doubling) as bytes actually arrive.
        ByteBuffer target = pool.acquire(Math.min(body, BufferPool.MAX_POOLED_SIZE));
        int have = b.remaining() - FrameLayout.HEADER_LENGTH - meta;
        target.put(0, b, p + FrameLayout.HEADER_LENGTH + meta, have);
        target.limit(Math.min(body, target.capacity())).position(have);
        b.position(b.limit());
        largeTarget = target;
        largeLength = body;
        largeInProgress = true;
        return true;
    }

    /** Handles the peer's opening, or the CHALLENGE or PROOF after it, once whole; true when one was. */
    private boolean parseHandshake(ByteBuffer b) throws IOException {
        if (openingRead) {
            int length = connection.secretFrameLength();
            if (b.remaining() < length) {
                return false;
            }
            connection.onSecretFrame(b);
            b.position(b.position() + length);
            return true;
        }
        return switch (handshake.decode(b)) {
            case DONE -> {
                openingRead = true;
                metadataSpoken = handshake.identity().speaksMetadata();
                connection.onPeerOpening(handshake.identity(), handshake.helloFlags(), b, b.position() - Handshake.LENGTH);
                yield true;
            }
            case NEED_MORE -> false;
            case INVALID -> {
                connection.protocolError(handshake.error());
                yield false;
            }
        };
    }

    // ---- from the loop's tick

    /** Takes the budget the reader waits for, if it is free now; true when reading may resume. Reading role held. */
    boolean retryBudget() {
        if (awaitedBytes == 0 || !budget.tryReserve(awaitedBytes)) {
            return false;
        }
        reservedBytes = awaitedBytes;
        awaitedBytes = 0;
        waitingForBudget = false;
        parseFirst = true;
        return true;
    }

    /** Null, or why the frame in progress counts as stalled ({@link FrameProgress}). The loop thread. */
    String checkProgress(long nowNanos) {
        return progress.check(nowNanos, (largeInProgress || partialFrame) && !waitingForBudget, bytesRead,
                framesDelivered);
    }

    /** Gives the read buffer back when it holds no partial frame and nothing arrived for {@code idleNs}. */
    void releaseIfIdle(long nowNanos, long idleNs) {
        ByteBuffer b = readBuffer;
        if (b != null && b.position() == 0 && largeTarget == null && awaitedBytes == 0
                && nowNanos - lastReadNanos >= idleNs) {
            readBuffer = null;
            growReadBuffer = false;
            core.bufferHeld(-b.capacity());
            pool.recycle(b);
        }
    }

    /** After a close: gives every buffer and reservation back. Idempotent; reading role held. */
    void releaseAll() {
        opening = null;
        if (readBuffer != null) {
            core.bufferHeld(-readBuffer.capacity());
            pool.recycle(readBuffer);
            readBuffer = null;
        }
        if (largeTarget != null) {
            pool.recycle(largeTarget);
            largeTarget = null;
        }
        largeInProgress = false;
        partialFrame = false;
        growReadBuffer = false;
        if (reservedBytes > 0) {
            budget.release(reservedBytes);
            reservedBytes = 0;
        }
        awaitedBytes = 0;
        waitingForBudget = false;
    }

    /** True while reading stopped until the receive budget has room (a frame waits, its read buffer full). */
    boolean waitingForBudget() {
        return waitingForBudget;
    }

    boolean holdsBuffer() {
        return readBuffer != null;
    }
}
