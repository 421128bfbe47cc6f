package dev.baton.cli;

import dev.baton.Node;
import dev.baton.Server;
import dev.baton.ServerCall;
import dev.baton.Status;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The services every demo node serves.
 *
 * <pre>
 * service   method  handler   request                        response
 * echo      0       inline    any bytes                      the same bytes
 * compute   0       inline    N little-endian IEEE doubles   8 bytes: their sum, little-endian, summed in order
 * compute   1       blocking  any bytes                      32 bytes: the request's SHA-256
 * </pre>
 *
 * The inline handlers are short and never block, so they run on the I/O thread; SHA-256 of a large request
 * is real work, so it runs on the node's handler executor. Stateless and thread-safe.
 */
final class DemoServices {

    static final String ECHO = "echo";
    static final String COMPUTE = "compute";
    static final int ECHO_METHOD = 0;
    static final int SUM_METHOD = 0;
    static final int SHA256_METHOD = 1;

    private DemoServices() {
    }

    static Server startEcho(Node node) {
        return node.newServer(ECHO).inline(ECHO_METHOD, call -> call.reply(call.request().buffer())).start();
    }

    static Server startCompute(Node node) {
        return node.newServer(COMPUTE)
                .inline(SUM_METHOD, DemoServices::sum)
                .blocking(SHA256_METHOD, DemoServices::sha256)
                .start();
    }

    private static void sum(ServerCall call) {
        ByteBuffer in = call.request().buffer().order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() % Double.BYTES != 0) {
            call.fail(Status.of(Status.Code.INVALID_ARGUMENT,
                    "sum: the request must be a whole number of doubles, was " + in.remaining() + " bytes"));
            return;
        }
        call.reply(encodeDouble(sum(in)));
    }

    private static void sha256(ServerCall call) {
        call.reply(sha256(call.request().buffer()));
    }

    /** The sum of the doubles in {@code in}'s remaining bytes, added in order (so callers can compare bits). */
    static double sum(ByteBuffer in) {
        ByteBuffer b = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double s = 0;
        while (b.remaining() >= Double.BYTES) {
            s += b.getDouble();
        }
        return s;
    }

    static byte[] encodeDouble(double value) {
        return ByteBuffer.allocate(Double.BYTES).order(ByteOrder.LITTLE_ENDIAN).putDouble(0, value).array();
    }

    static byte[] sha256(ByteBuffer in) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(in.duplicate());
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
