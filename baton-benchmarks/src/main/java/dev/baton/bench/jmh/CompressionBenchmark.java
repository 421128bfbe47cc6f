package dev.baton.bench.jmh;

import dev.baton.compression.Lz4Compressor;
import dev.baton.compression.ZstdCompressor;
import dev.baton.spi.Compressor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What compression costs per message, for the break-even point of docs/performance.md: compressing and decompressing
 * a {@code size}-byte message of {@code content} ({@code text}: the words-and-digits payload of the bench's
 * echo-1mib-text workload; {@code random}: incompressible) with each of baton-compression's compressors, between
 * direct buffers as the transport calls them. The compressed size is printed once per trial.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "--enable-native-access=ALL-UNNAMED"})
public class CompressionBenchmark {

    @Param({"zstd", "lz4"})
    String codec;

    @Param({"text", "random"})
    String content;

    @Param({"1048576"})
    int size;

    private Compressor compressor;
    private ByteBuffer message;
    private ByteBuffer compressed;
    private ByteBuffer out;
    private ByteBuffer scratch;

    @Setup
    public void setUp() {
        compressor = codec.equals("zstd") ? new ZstdCompressor() : new Lz4Compressor();
        byte[] bytes = new byte[size];
        Random r = new Random(42);
        if (content.equals("random")) {
            r.nextBytes(bytes);
        } else {
            String[] words = {"tensor ", "gradient ", "rank ", "shard ", "epoch ", "batch ", "loss=0.", "step "};
            int i = 0;
            while (i < size) {
                byte[] w = (words[r.nextInt(words.length)] + r.nextInt(10)).getBytes(StandardCharsets.US_ASCII);
                int n = Math.min(w.length, size - i);
                System.arraycopy(w, 0, bytes, i, n);
                i += n;
            }
        }
        message = ByteBuffer.allocateDirect(size).put(bytes).flip();
        compressed = ByteBuffer.allocateDirect(compressor.maxCompressedLength(size));
        int n = compressor.compress(message.duplicate(), compressed.duplicate());
        compressed.limit(n);
        out = ByteBuffer.allocateDirect(size);
        scratch = ByteBuffer.allocateDirect(compressor.maxCompressedLength(size));
        System.out.printf("%n%s %s: %d bytes compress to %d (ratio %.2f)%n", codec, content, size, n, size / (double) n);
    }

    @Benchmark
    public int compress() {
        return compressor.compress(message.duplicate(), scratch.duplicate());
    }

    @Benchmark
    public int decompress() {
        return compressor.decompress(compressed.duplicate(), out.duplicate());
    }
}
