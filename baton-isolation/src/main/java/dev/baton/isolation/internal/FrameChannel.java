package dev.baton.isolation.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The supervisor-worker protocol on one Unix-domain socket: length-prefixed frames, little-endian, one call at a
 * time per worker. Both ends use this class; it is not exported.
 *
 * <pre>
 *   frame  = int bodyLength | byte type | long callId | body (bodyLength bytes)
 *   HELLO  (worker, once)  body: int workerId | long pid
 *   CALL   (supervisor)    body: int method | int handler | long timeoutNanos | int metadataLength | metadata | payload
 *   REPLY  (worker)        body: payload
 *   FAILED (worker)        body: int statusCode | UTF-8 message        (the worker keeps serving)
 *   FATAL  (worker)        body: byte kind | UTF-8 message             (the worker exits next)
 * </pre>
 *
 * Reads go through one direct buffer of {@value #SCRATCH} bytes: a header and a small body arrive in one read
 * system call. A larger body is read straight into its caller's buffer ({@link #readBody}), the bytes already
 * buffered copied first. Writes gather the header and the payload ({@link #write}): the payload is not copied in
 * user space (a heap payload is, by the JDK, into its temporary direct buffer). Not thread-safe: one reader
 * thread, one writer at a time.
 */
public final class FrameChannel implements AutoCloseable {

    public static final byte HELLO = 1;
    public static final byte CALL = 2;
    public static final byte REPLY = 3;
    public static final byte FAILED = 4;
    public static final byte FATAL = 5;

    /** FATAL kinds. */
    public static final byte FATAL_STACK_OVERFLOW = 0;
    public static final byte FATAL_ERROR = 1;

    public static final int HEADER = 4 + 1 + 8;
    public static final int CALL_FIXED = 4 + 4 + 8 + 4;
    public static final int SCRATCH = 64 * 1024;
    /** The longest message a FAILED or FATAL frame carries, in UTF-8 bytes; longer ones are cut. */
    public static final int MAX_MESSAGE = 8 * 1024;

    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocateDirect(SCRATCH).order(ByteOrder.LITTLE_ENDIAN).limit(0);
    private ByteBuffer out = ByteBuffer.allocateDirect(256).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer[] gather = new ByteBuffer[2];
    private final int sendBuffer;
    private int bodyLength;
    private byte type;
    private long callId;

    /** The send buffer asked for each end (the kernel caps it at net.core.wmem_max): large frames in fewer wake-ups. */
    public static final int SEND_BUFFER = 1 << 20;

    public FrameChannel(SocketChannel channel) {
        this.channel = channel;
        int sendBuffer = 64 * 1024;
        try {
            channel.setOption(StandardSocketOptions.SO_SNDBUF, SEND_BUFFER);
            sendBuffer = channel.getOption(StandardSocketOptions.SO_SNDBUF) / 2;   // Linux reports it doubled
        } catch (IOException | UnsupportedOperationException e) {
            // The default buffer works too, in more steps.
        }
        this.sendBuffer = Math.max(16 * 1024, sendBuffer);
    }

    /**
     * About how many bytes a write takes without blocking when the peer has read everything before: the socket's
     * send buffer ({@link #SEND_BUFFER} asked, at most net.core.wmem_max granted).
     */
    public int sendBuffer() {
        return sendBuffer;
    }

    /** Connects to the supervisor's socket at {@code path}. */
    public static FrameChannel connect(Path path) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(path));
            return new FrameChannel(ch);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads the next frame's header; false at a clean end of stream (between frames). {@link EOFException} when
     * the stream ends inside a frame; {@link ProtocolException} for a length over {@code maxBody}.
     */
    public boolean next(int maxBody) throws IOException {
        if (!fill(HEADER, true)) {
            return false;
        }
        bodyLength = in.getInt();
        type = in.get();
        callId = in.getLong();
        if (bodyLength < 0 || bodyLength > maxBody) {
            throw new ProtocolException("a frame of " + bodyLength + " bytes (type " + type + "); the limit is "
                    + maxBody);
        }
        return true;
    }

    public byte type() {
        return type;
    }

    public long callId() {
        return callId;
    }

    public int bodyLength() {
        return bodyLength;
    }

    /**
     * The whole body, in the read buffer (valid until the next read), little-endian; for bodies of at most
     * {@value #SCRATCH} bytes.
     */
    public ByteBuffer bodyInBuffer() throws IOException {
        if (bodyLength > SCRATCH) {
            throw new IllegalStateException("a body of " + bodyLength + " bytes does not fit the read buffer");
        }
        fill(bodyLength, false);
        ByteBuffer body = in.slice(in.position(), bodyLength).order(ByteOrder.LITTLE_ENDIAN);
        in.position(in.position() + bodyLength);
        bodyLength = 0;
        return body;
    }

    /** Reads the rest of the body ({@code remaining} bytes of it) into {@code dst} (at its position). */
    public void readBody(ByteBuffer dst, int remaining) throws IOException {
        int buffered = Math.min(in.remaining(), remaining);
        dst.put(dst.position(), in, in.position(), buffered);
        dst.position(dst.position() + buffered);
        in.position(in.position() + buffered);
        int left = remaining - buffered;
        int end = dst.position() + left;
        ByteBuffer target = dst.limit() == end ? dst : dst.duplicate().limit(end);
        while (target.hasRemaining()) {
            if (channel.read(target) < 0) {
                throw new EOFException("end of stream inside a frame body");
            }
        }
        if (target != dst) {
            dst.position(end);
        }
        bodyLength -= remaining;
    }

    /** Reads an {@code int} of the current body. */
    public int bodyInt() throws IOException {
        fill(4, false);
        bodyLength -= 4;
        return in.getInt();
    }

    /** Reads the rest of the current body (at most {@value #SCRATCH} bytes) as UTF-8. */
    public String bodyString() throws IOException {
        ByteBuffer b = bodyInBuffer();
        return StandardCharsets.UTF_8.decode(b).toString();
    }

    /** Makes {@code n} bytes available in {@code in}; false only for {@code eofOk} and no byte at all. */
    private boolean fill(int n, boolean eofOk) throws IOException {
        if (in.remaining() >= n) {
            return true;
        }
        in.compact();
        try {
            while (in.position() < n) {
                if (channel.read(in) < 0) {
                    if (eofOk && in.position() == 0) {
                        return false;
                    }
                    throw new EOFException("end of stream inside a frame (" + in.position() + " of " + n + " bytes)");
                }
            }
        } finally {
            in.flip();
        }
        return true;
    }

    // ------------------------------------------------------------------ writing

    /** A header buffer with room for {@code extra} more bytes after the frame header, positioned after it. */
    public ByteBuffer startFrame(byte frameType, long id, int extra, int bodyLength) {
        int need = HEADER + extra;
        if (out.capacity() < need) {
            out = ByteBuffer.allocateDirect(Integer.highestOneBit(need - 1) << 1).order(ByteOrder.LITTLE_ENDIAN);
        }
        out.clear();
        out.putInt(bodyLength).put(frameType).putLong(id);
        return out;
    }

    /** Writes the frame started with {@link #startFrame} (flipped here) and then {@code payload}'s remaining bytes. */
    public void write(ByteBuffer payload) throws IOException {
        out.flip();
        if (payload == null || !payload.hasRemaining()) {
            while (out.hasRemaining()) {
                channel.write(out);
            }
            return;
        }
        gather[0] = out;
        gather[1] = payload;
        try {
            while (payload.hasRemaining()) {
                channel.write(gather);
            }
        } finally {
            gather[1] = null;
        }
    }

    /** Writes a frame whose body is {@code code} (if not null) and a UTF-8 message, cut to {@value #MAX_MESSAGE} bytes. */
    public void writeMessage(byte frameType, long id, byte kind, Integer code, String message) throws IOException {
        byte[] text = (message == null ? "" : message).getBytes(StandardCharsets.UTF_8);
        int len = Math.min(text.length, MAX_MESSAGE);
        int fixed = frameType == FATAL ? 1 : 4;
        ByteBuffer b = startFrame(frameType, id, fixed + len, fixed + len);
        if (frameType == FATAL) {
            b.put(kind);
        } else {
            b.putInt(code == null ? 0 : code);
        }
        b.put(text, 0, len);
        write(null);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
