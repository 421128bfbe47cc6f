/**
 * zstd and lz4 compression of Baton messages: on the module or class path, every node offers both encodings in its
 * handshake, and calls that ask for compression ({@code CallOptions.withCompression}) get it where it pays. Nothing
 * to call: the {@link java.util.ServiceLoader} finds the compressors.
 */
module dev.baton.compression {
    requires dev.baton;
    requires com.github.luben.zstd_jni;
    requires org.lz4.java;

    exports dev.baton.compression;

    provides dev.baton.spi.Compressor with dev.baton.compression.ZstdCompressor, dev.baton.compression.Lz4Compressor;
}
