package dev.baton.tracker.internal;

import com.google.gson.JsonElement;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A blocking client connection to a TVM tracker (Baton's or TVM's): create it, connect (which exchanges the
 * magic), then send messages and read replies. Used by the Java client, one connection per operation or per
 * registered server. Not thread-safe, except {@link #close()}, which any thread may call, even before or during
 * {@link #connect}, to abort whatever the owner is blocked in.
 *
 * <p>Every wait is bounded twice: by its own limit (the connect timeout for connecting, the I/O timeout for the
 * magic and for each reply once it has begun) and by the connection's deadline, if it has one. A wait that runs
 * out throws {@link SocketTimeoutException}.
 */
public final class TvmSocket implements AutoCloseable {

    /** The largest reply read (a summary of a large tracker); a longer one is a protocol error. */
    static final int MAX_REPLY_BYTES = 16 << 20;
    /** The deadline of a connection that has none: only the per-wait limits apply. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    private final Socket socket = new Socket();
    private final long ioTimeoutNs;
    private long deadlineNs = NO_DEADLINE;
    private InputStream in;
    private OutputStream out;

    private TvmSocket(Duration ioTimeout) {
        this.ioTimeoutNs = nanos(ioTimeout);
    }

    /** The deadline {@code timeout} from now, in {@link System#nanoTime()} terms. */
    public static long deadlineAfter(Duration timeout) {
        return System.nanoTime() + nanos(timeout);
    }

    /** {@code d} in nanoseconds, at most about 73 years, so that adding it to a clock reading cannot overflow. */
    private static long nanos(Duration d) {
        return d.compareTo(Duration.ofNanos(Long.MAX_VALUE / 4)) > 0 ? Long.MAX_VALUE / 4 : d.toNanos();
    }

    /**
     * A connection not connected yet, whose replies may each take up to {@code ioTimeout}. Publish it where
     * {@link #close()} can reach it before calling {@link #connect}, so that connecting can be aborted too.
     */
    public static TvmSocket create(Duration ioTimeout) {
        return new TvmSocket(ioTimeout);
    }

    /**
     * Connects to {@code tracker} within {@code connectTimeout} and exchanges the magic within the I/O timeout,
     * neither past {@code deadlineNs} ({@link System#nanoTime()} terms, or {@link #NO_DEADLINE}), which also
     * bounds every later read. Throws {@link IOException} if it cannot ({@link SocketTimeoutException} when a
     * wait ran out), and {@link ProtocolException} if the peer answers with something other than the tracker
     * magic. The caller closes this connection whatever happens.
     */
    public void connect(InetSocketAddress tracker, Duration connectTimeout, long deadlineNs)
            throws IOException, ProtocolException {
        this.deadlineNs = deadlineNs;
        InetSocketAddress target = tracker.isUnresolved()
                ? new InetSocketAddress(tracker.getHostString(), tracker.getPort()) : tracker;
        socket.setTcpNoDelay(true);
        socket.setKeepAlive(true);
        socket.connect(target, timeoutMs(end(nanos(connectTimeout))));
        in = socket.getInputStream();
        out = socket.getOutputStream();
        out.write(TvmWire.magic().array());
        out.flush();
        byte[] magic = new byte[4];
        readFully(magic, 0, 4, end(ioTimeoutNs));
        if (intAt(magic) != TvmWire.TRACKER_MAGIC) {
            throw new ProtocolException(ProtocolException.Kind.BAD_MAGIC, target + " is not an RPC tracker: it"
                    + " answered the magic with 0x" + Integer.toHexString(intAt(magic)));
        }
    }

    /** True once connected (and still true after {@link #close()}): a failure since is not "cannot reach". */
    public boolean isConnected() {
        return socket.isConnected();
    }

    /** Writes one message. */
    public void send(JsonElement message) throws IOException {
        ByteBuffer frame = TvmWire.frame(message);
        out.write(frame.array(), frame.arrayOffset(), frame.remaining());
        out.flush();
    }

    /** Reads one reply, all of it within the I/O timeout (and the deadline). */
    public JsonElement receive() throws IOException, ProtocolException {
        return body(new byte[4], 0, end(ioTimeoutNs));
    }

    /**
     * Reads a reply that may be long in coming (a REQUEST's grant): waits for its first byte until the deadline
     * (forever without one), and for the rest at most the I/O timeout. Throws {@link SocketTimeoutException}
     * when a wait runs out, {@link EOFException} when the tracker closed the connection.
     */
    public JsonElement awaitReply() throws IOException, ProtocolException {
        byte[] length = new byte[4];
        readFully(length, 0, 1, deadlineNs);
        return body(length, 1, end(ioTimeoutNs));
    }

    /** The rest of a reply whose length word has {@code have} bytes already, read by {@code endNs}. */
    private JsonElement body(byte[] lengthWord, int have, long endNs) throws IOException, ProtocolException {
        readFully(lengthWord, have, 4 - have, endNs);
        int length = intAt(lengthWord);
        if (length <= 0 || length > MAX_REPLY_BYTES) {
            throw new ProtocolException(ProtocolException.Kind.BAD_LENGTH, "reply length " + length);
        }
        byte[] body = new byte[length];
        readFully(body, 0, length, endNs);
        return TvmWire.parse(body, length);
    }

    /** Reads exactly {@code len} bytes, every read bounded so that all of them arrive by {@code endNs}. */
    private void readFully(byte[] b, int off, int len, long endNs) throws IOException {
        while (len > 0) {
            socket.setSoTimeout(timeoutMs(endNs));
            int n = in.read(b, off, len);
            if (n < 0) {
                throw new EOFException(off == 0 ? "the tracker closed the connection"
                        : "the tracker closed the connection mid-reply");
            }
            off += n;
            len -= n;
        }
    }

    /** {@code limitNs} from now, or the deadline if that comes first. */
    private long end(long limitNs) {
        long end = System.nanoTime() + limitNs;
        return deadlineNs != NO_DEADLINE && deadlineNs - end < 0 ? deadlineNs : end;
    }

    /** The socket API's timeout for a wait that must end by {@code endNs}: at least 1 ms, 0 (forever) for none. */
    private static int timeoutMs(long endNs) throws SocketTimeoutException {
        if (endNs == NO_DEADLINE) {
            return 0;
        }
        long leftNs = endNs - System.nanoTime();
        if (leftNs <= 0) {
            throw new SocketTimeoutException("timed out");
        }
        return (int) Math.clamp((leftNs + 999_999) / 1_000_000, 1L, Integer.MAX_VALUE);
    }

    private static int intAt(byte[] b) {
        return b[0] & 0xFF | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    /** Closes the connection; a thread blocked in it gets an exception. Idempotent, any thread, any time. */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
