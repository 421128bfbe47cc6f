package dev.baton.compression;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import dev.baton.Compression;
import dev.baton.spi.Compressor;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Zstandard at level 1 (prpc's default), between direct buffers, through zstd-jni. Compression and decompression
 * contexts (about 1 MiB of native memory each at level 1) are pooled: a few are kept for reuse, so a busy process
 * neither allocates one per message nor holds one per thread (virtual threads would make that unbounded).
 */
public final class ZstdCompressor implements Compressor {

    /** prpc's default level: the fastest of zstd's regular levels, still a better ratio than lz4. */
    public static final int LEVEL = 1;
    private static final int POOLED_CONTEXTS = 8;

    private final BlockingQueue<ZstdCompressCtx> compressors = new ArrayBlockingQueue<>(POOLED_CONTEXTS);
    private final BlockingQueue<ZstdDecompressCtx> decompressors = new ArrayBlockingQueue<>(POOLED_CONTEXTS);

    @Override
    public int id() {
        return Compression.ZSTD.id();
    }

    @Override
    public String name() {
        return Compression.ZSTD.wireName();
    }

    @Override
    public int maxCompressedLength(int sourceLength) {
        long bound = Zstd.compressBound(sourceLength);
        if (bound > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a message of " + sourceLength + " bytes is too large to compress");
        }
        return (int) bound;
    }

    @Override
    public int compress(ByteBuffer src, ByteBuffer dst) {
        requireDirect(src, dst);
        ZstdCompressCtx ctx = compressors.poll();
        if (ctx == null) {
            ctx = new ZstdCompressCtx().setLevel(LEVEL);
        }
        try {
            return ctx.compressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                    src.remaining());
        } finally {
            giveBack(ctx);
        }
    }

    @Override
    public int decompress(ByteBuffer src, ByteBuffer dst) {
        requireDirect(src, dst);
        ZstdDecompressCtx ctx = decompressors.poll();
        if (ctx == null) {
            ctx = new ZstdDecompressCtx();
        }
        try {
            // Writes at most dst.remaining() bytes: output that would not fit is an error ("Destination buffer is
            // too small"), as is any malformed input; zstd-jni reports both as a ZstdException.
            return ctx.decompressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                    src.remaining());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        } finally {
            giveBack(ctx);
        }
    }

    private void giveBack(ZstdCompressCtx ctx) {
        if (!compressors.offer(ctx)) {
            ctx.close();
        }
    }

    private void giveBack(ZstdDecompressCtx ctx) {
        if (!decompressors.offer(ctx)) {
            ctx.close();
        }
    }

    static void requireDirect(ByteBuffer src, ByteBuffer dst) {
        if (!src.isDirect() || !dst.isDirect()) {
            throw new IllegalArgumentException("compressors work between direct buffers");
        }
    }
}
