/**
 * The compressors of Baton's wire protocol: {@link dev.baton.compression.ZstdCompressor} (zstd level 1) and
 * {@link dev.baton.compression.Lz4Compressor} (lz4 fast), found by the {@link java.util.ServiceLoader} as
 * {@link dev.baton.spi.Compressor}s. Applications do not call them: they ask for compression per call or per client
 * with {@code CallOptions.withCompression(Compression.ZSTD)}. See docs/protocol.md#compression.
 */
package dev.baton.compression;
