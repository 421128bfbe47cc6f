package dev.baton;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Key/value headers that travel with a request or a response: a trace context, an auth token, a tenant id. A
 * call without metadata puts no byte of it on the wire (docs/protocol.md#metadata).
 *
 * <p>Immutable and thread-safe; {@link #with} and {@link #withBinary} return a new instance. Each key has one
 * value, text or binary; setting a key again replaces its value. Keys are 1 to 255 characters of
 * {@code a-z 0-9 - _ .} (lower case, like HTTP/2 header names). The encoded size of all entries, 4 bytes per
 * entry plus its key and value bytes, is at most {@value #MAX_ENCODED_SIZE} bytes; a receiver refuses more
 * before allocating anything for it.
 *
 * <pre>{@code
 * CallOptions traced = CallOptions.DEFAULT.withMetadata(Metadata.of("tenant", "acme"));
 * // in a handler:
 * String tenant = call.metadata().get("tenant");
 * }</pre>
 */
public final class Metadata {

    /** The most bytes the entries of one request's or response's metadata take on the wire. */
    public static final int MAX_ENCODED_SIZE = 16 * 1024;
    /** The longest key, in characters. */
    public static final int MAX_KEY_LENGTH = 255;
    static final int ENTRY_OVERHEAD = 4;        // key length u8, kind u8, value length u16
    private static final byte TEXT = 0;
    private static final byte BINARY = 1;

    /** No entries. */
    public static final Metadata EMPTY = new Metadata(new String[0], new byte[0], new byte[0][], 0);

    private final String[] keys;         // in insertion order
    private final byte[] kinds;
    private final byte[][] values;       // text values as UTF-8
    private final int encodedSize;

    private Metadata(String[] keys, byte[] kinds, byte[][] values, int encodedSize) {
        this.keys = keys;
        this.kinds = kinds;
        this.values = values;
        this.encodedSize = encodedSize;
    }

    /** Metadata with one text entry. */
    public static Metadata of(String key, String value) {
        return EMPTY.with(key, value);
    }

    /** Metadata with two text entries. */
    public static Metadata of(String key1, String value1, String key2, String value2) {
        return EMPTY.with(key1, value1).with(key2, value2);
    }

    /** A copy with {@code key} set to the text {@code value} (UTF-8 on the wire). */
    public Metadata with(String key, String value) {
        return put(key, TEXT, Objects.requireNonNull(value, "value").getBytes(StandardCharsets.UTF_8));
    }

    /** A copy with {@code key} set to the binary {@code value} (copied). */
    public Metadata withBinary(String key, byte[] value) {
        return put(key, BINARY, Objects.requireNonNull(value, "value").clone());
    }

    /** A copy without {@code key} (this instance when it has none). */
    public Metadata without(String key) {
        int i = indexOf(key);
        if (i < 0) {
            return this;
        }
        String[] k = new String[keys.length - 1];
        byte[] t = new byte[keys.length - 1];
        byte[][] v = new byte[keys.length - 1][];
        for (int j = 0, n = 0; j < keys.length; j++) {
            if (j != i) {
                k[n] = keys[j];
                t[n] = kinds[j];
                v[n++] = values[j];
            }
        }
        return new Metadata(k, t, v, encodedSize - entrySize(keys[i], values[i]));
    }

    /** A copy with every entry of {@code other} added (its values win). */
    public Metadata withAll(Metadata other) {
        Metadata m = this;
        for (int i = 0; i < other.keys.length; i++) {
            m = m.put(other.keys[i], other.kinds[i], other.values[i]);
        }
        return m;
    }

    private Metadata put(String key, byte kind, byte[] value) {
        checkKey(key);
        if (value.length > MAX_ENCODED_SIZE) {
            throw new IllegalArgumentException("metadata value of '" + key + "' is " + value.length
                    + " bytes; at most " + MAX_ENCODED_SIZE + " bytes of metadata go with a call");
        }
        int i = indexOf(key);
        int size = encodedSize + entrySize(key, value) - (i >= 0 ? entrySize(keys[i], values[i]) : 0);
        if (size > MAX_ENCODED_SIZE) {
            throw new IllegalArgumentException("metadata would take " + size + " bytes encoded; at most "
                    + MAX_ENCODED_SIZE + " go with a call");
        }
        int n = i >= 0 ? keys.length : keys.length + 1;
        String[] k = Arrays.copyOf(keys, n);
        byte[] t = Arrays.copyOf(kinds, n);
        byte[][] v = Arrays.copyOf(values, n);
        int at = i >= 0 ? i : n - 1;
        k[at] = key;
        t[at] = kind;
        v[at] = value;
        return new Metadata(k, t, v, size);
    }

    private static int entrySize(String key, byte[] value) {
        return ENTRY_OVERHEAD + key.length() + value.length;
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty() || key.length() > MAX_KEY_LENGTH) {
            throw new IllegalArgumentException("a metadata key has 1 to " + MAX_KEY_LENGTH + " characters, '"
                    + key + "' has " + key.length());
        }
        for (int i = 0; i < key.length(); i++) {
            if (!keyChar(key.charAt(i))) {
                throw new IllegalArgumentException("metadata key '" + key + "' has '" + key.charAt(i)
                        + "'; keys use a-z, 0-9, '-', '_' and '.'");
            }
        }
    }

    private static boolean keyChar(int c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    }

    private int indexOf(String key) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i].equals(key)) {
                return i;
            }
        }
        return -1;
    }

    /** The text value of {@code key}, or null when absent. A binary value is decoded as UTF-8. */
    public String get(String key) {
        int i = indexOf(key);
        return i < 0 ? null : new String(values[i], StandardCharsets.UTF_8);
    }

    /** The value of {@code key} as bytes (a copy; text as UTF-8), or null when absent. */
    public byte[] getBinary(String key) {
        int i = indexOf(key);
        return i < 0 ? null : values[i].clone();
    }

    /** True when {@code key}'s value was set as binary. */
    public boolean isBinary(String key) {
        int i = indexOf(key);
        return i >= 0 && kinds[i] == BINARY;
    }

    public boolean containsKey(String key) {
        return indexOf(key) >= 0;
    }

    /** The keys, in the order they were first set. */
    public List<String> keys() {
        return Collections.unmodifiableList(Arrays.asList(keys));
    }

    public int size() {
        return keys.length;
    }

    public boolean isEmpty() {
        return keys.length == 0;
    }

    /** The bytes the entries take on the wire. */
    public int encodedSize() {
        return encodedSize;
    }

    // ================================================================== wire form (docs/protocol.md#metadata)

    /**
     * Writes the entries at {@code out}'s position (little-endian) and advances it: per entry, key length (u8),
     * kind (u8: 0 text, 1 binary), value length (u16), the key's ASCII bytes, the value's bytes.
     */
    public void encode(ByteBuffer out) {
        ByteBuffer le = out.order() == ByteOrder.LITTLE_ENDIAN ? out : out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = out.position();
        for (int i = 0; i < keys.length; i++) {
            String k = keys[i];
            le.put(p, (byte) k.length()).put(p + 1, kinds[i]).putShort(p + 2, (short) values[i].length);
            p += ENTRY_OVERHEAD;
            for (int c = 0; c < k.length(); c++) {
                le.put(p++, (byte) k.charAt(c));
            }
            le.put(p, values[i]);
            p += values[i].length;
        }
        out.position(p);
    }

    /**
     * Reads {@code length} bytes of entries from {@code in} at {@code offset} (little-endian), without moving its
     * position. Throws {@link IllegalArgumentException} saying what is wrong with malformed input: a length
     * over {@value #MAX_ENCODED_SIZE}, an entry that runs past the end, a bad key or kind, a repeated key.
     */
    public static Metadata decode(ByteBuffer in, int offset, int length) {
        if (length < 0 || length > MAX_ENCODED_SIZE || offset < 0 || offset > in.limit() - length) {
            throw new IllegalArgumentException("metadata of " + length + " bytes (at most " + MAX_ENCODED_SIZE
                    + ") does not fit the frame");
        }
        List<String> k = new ArrayList<>();
        List<byte[]> v = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        byte[] t = new byte[Math.max(1, length / ENTRY_OVERHEAD)];
        int p = offset;
        int end = offset + length;
        while (p < end) {
            if (end - p < ENTRY_OVERHEAD) {
                throw new IllegalArgumentException("truncated metadata entry at byte " + (p - offset));
            }
            int keyLength = Byte.toUnsignedInt(in.get(p));
            byte kind = in.get(p + 1);
            int valueLength = (Byte.toUnsignedInt(in.get(p + 2)) | Byte.toUnsignedInt(in.get(p + 3)) << 8);
            p += ENTRY_OVERHEAD;
            if (keyLength == 0 || (kind != TEXT && kind != BINARY) || end - p < keyLength + valueLength) {
                throw new IllegalArgumentException("malformed metadata entry at byte " + (p - ENTRY_OVERHEAD - offset));
            }
            char[] chars = new char[keyLength];
            for (int c = 0; c < keyLength; c++) {
                int ch = Byte.toUnsignedInt(in.get(p + c));
                if (!keyChar(ch)) {
                    throw new IllegalArgumentException("metadata key with byte " + ch + " at byte " + (p + c - offset));
                }
                chars[c] = (char) ch;
            }
            String key = new String(chars);
            if (!seen.add(key)) {
                throw new IllegalArgumentException("metadata key '" + key + "' appears twice");
            }
            p += keyLength;
            byte[] value = new byte[valueLength];
            in.get(p, value);
            p += valueLength;
            t[k.size()] = kind;
            k.add(key);
            v.add(value);
        }
        return new Metadata(k.toArray(new String[0]), Arrays.copyOf(t, k.size()), v.toArray(new byte[0][]), length);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Metadata m) || m.keys.length != keys.length) {
            return false;
        }
        for (int i = 0; i < keys.length; i++) {
            int j = m.indexOf(keys[i]);
            if (j < 0 || m.kinds[j] != kinds[i] || !Arrays.equals(m.values[j], values[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = 0;
        for (int i = 0; i < keys.length; i++) {
            h += keys[i].hashCode() ^ Arrays.hashCode(values[i]);
        }
        return h;
    }

    /** The keys and the size of each value, never the values: they may be tokens, and this ends up in logs. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Metadata{");
        for (int i = 0; i < keys.length; i++) {
            b.append(i == 0 ? "" : ", ").append(keys[i]).append(kinds[i] == TEXT ? ": text, " : ": binary, ")
                    .append(values[i].length).append(" B");
        }
        return b.append('}').toString();
    }
}
