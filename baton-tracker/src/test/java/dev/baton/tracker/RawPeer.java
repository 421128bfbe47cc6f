package dev.baton.tracker;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A TVM peer reduced to its bytes: what TVM's Python ({@code base.sendjson}: {@code struct.pack("<i", len)} then
 * the JSON text), C++ ({@code SendBytes}) and Java ({@code Utils.sendString}) peers put on the wire, written
 * exactly, and replies read as raw JSON text. For tests only (public for the internal package's tests); not
 * thread-safe.
 */
public final class RawPeer implements AutoCloseable {

    public static final int MAGIC = 0x2F271;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        socket.setSoTimeout(10_000);
    }

    /** Connected, nothing sent. */
    public static RawPeer connect(int port) throws IOException {
        return connect(port, 0);
    }

    /** Connected with a receive buffer of {@code receiveBufferBytes} (0: the default), nothing sent. */
    public static RawPeer connect(int port, int receiveBufferBytes) throws IOException {
        Socket s = new Socket();
        if (receiveBufferBytes > 0) {
            s.setReceiveBufferSize(receiveBufferBytes);
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        return new RawPeer(s);
    }

    /** Connected, magic sent and its echo checked: what every TVM peer does first. */
    public static RawPeer handshake(int port) throws IOException {
        RawPeer p = connect(port);
        p.sendInt(MAGIC);
        assertEquals(MAGIC, p.readInt(), "the tracker echoes the magic");
        return p;
    }

    public void sendInt(int value) throws IOException {
        out.write(le(value));
        out.flush();
    }

    public void sendBytes(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    /** One frame: the length of {@code json} in bytes, then its UTF-8 bytes, as TVM's peers send it. */
    public void send(String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(body.length).put(body);
        sendBytes(b.array());
    }

    public int readInt() throws IOException {
        byte[] b = in.readNBytes(4);
        if (b.length < 4) {
            throw new EOFException("closed");
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** One reply frame's JSON text, waiting at most {@code timeout}. */
    public String read(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        int n = readInt();
        if (n <= 0 || n > 64 << 20) {
            throw new IOException("reply length " + n);
        }
        byte[] body = in.readNBytes(n);
        if (body.length < n) {
            throw new EOFException("closed mid-frame");
        }
        return new String(body, StandardCharsets.US_ASCII);
    }

    public String read() throws IOException {
        return read(Duration.ofSeconds(10));
    }

    /** {@code json} sent, its reply read. */
    public String call(String json) throws IOException {
        send(json);
        return read();
    }

    /** Asserts that nothing arrives for {@code quiet} (a request still waiting, say). */
    public void assertNothingFor(Duration quiet) throws IOException {
        socket.setSoTimeout((int) quiet.toMillis());
        try {
            int b = in.read();
            fail(b < 0 ? "the tracker closed the connection" : "unexpected data from the tracker");
        } catch (SocketTimeoutException expected) {
            // quiet, as it should be
        }
    }

    /** Asserts that the tracker closes this connection within {@code timeout} (FIN or reset), sending nothing. */
    public void assertClosedByTracker(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        try {
            int b = in.read();
            assertEquals(-1, b, "the tracker sent data instead of closing");
        } catch (SocketTimeoutException e) {
            fail("the tracker did not close the connection within " + timeout);
        } catch (SocketException reset) {
            // closed with unread data on its side: a reset is a close too
        }
    }

    public static byte[] le(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
