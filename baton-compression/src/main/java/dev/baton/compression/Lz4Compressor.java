package dev.baton.compression;

import dev.baton.Compression;
import dev.baton.spi.Compressor;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

import java.nio.ByteBuffer;

/**
 * LZ4 block format, fast mode, through lz4-java (native where it can load, Java otherwise). Received bytes go only
 * through its safe decompressor, which checks every offset against both buffers: malformed input is an error, never
 * a read or write out of bounds.
 */
public final class Lz4Compressor implements Compressor {

    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
    private final LZ4Compressor compressor = FACTORY.fastCompressor();
    private final LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();

    @Override
    public int id() {
        return Compression.LZ4.id();
    }

    @Override
    public String name() {
        return Compression.LZ4.wireName();
    }

    @Override
    public int maxCompressedLength(int sourceLength) {
        return compressor.maxCompressedLength(sourceLength);
    }

    @Override
    public int compress(ByteBuffer src, ByteBuffer dst) {
        return compressor.compress(src, src.position(), src.remaining(), dst, dst.position(), dst.remaining());
    }

    @Override
    public int decompress(ByteBuffer src, ByteBuffer dst) {
        try {
            return decompressor.decompress(src, src.position(), src.remaining(), dst, dst.position(), dst.remaining());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
