package dev.baton;

import dev.baton.spi.Compressors;

/**
 * How a call's messages are compressed on the wire ({@link CallOptions#withCompression}): prpc's choice of zstd
 * (level 1) and lz4, provided by the optional {@code baton-compression} module.
 *
 * <p>Compression is a wish the connection grants when it can. A message is compressed only when the peer said in its
 * handshake that it takes the encoding, the message is at least the node's
 * {@link NodeOptions#compressionThreshold()}, and the compressed form is smaller; otherwise it goes as it is, so a
 * call never fails for it. A request that asks for compression asks for its response to be compressed the same way.
 * Calls in process are never compressed. See docs/protocol.md#compression.
 */
public enum Compression {
    /** No compression (the default). */
    NONE(0, "identity"),
    /** Zstandard, level 1: a better ratio, a few hundred MB/s. */
    ZSTD(1, "zstd"),
    /** LZ4: a lower ratio, several hundred MB/s to GB/s. */
    LZ4(2, "lz4");

    private final int id;
    private final String wireName;

    Compression(int id, String wireName) {
        this.id = id;
        this.wireName = wireName;
    }

    /** The encoding's number on the wire (header offset 26). */
    public int id() {
        return id;
    }

    /** The encoding's name: "identity", "zstd", "lz4". */
    public String wireName() {
        return wireName;
    }

    /** True when this process can use it: always for NONE, otherwise when a compressor for it is on the path. */
    public boolean isAvailable() {
        return this == NONE || Compressors.forId(id) != null;
    }

    /** The encoding with wire number {@code id}, or null for an unknown one. */
    public static Compression ofId(int id) {
        for (Compression c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        return null;
    }
}
