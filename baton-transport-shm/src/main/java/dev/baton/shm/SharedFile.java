package dev.baton.shm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.IntToLongFunction;

/**
 * A file of the shared-memory directory that one process makes and the other maps ({@link RingFile},
 * {@link PayloadFile}), with the header both kinds begin with, and the checks a mapping side makes before it trusts
 * what the peer made:
 *
 * <pre>
 *   0     magic     i64
 *   8     version   i32
 *   12    capacity  i32  a power of two; the file's size follows from it ({@link Kind#size})
 * </pre>
 *
 * <p>Made on one thread; {@link #unmap()} from any.
 */
final class SharedFile {

    static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final int ZEROS = 64 * 1024;

    /**
     * One kind of file: what messages call it, its magic and version, the capacities it may have, and its size for a
     * capacity.
     */
    record Kind(String name, long magic, int version, int minCapacity, int maxCapacity, IntToLongFunction size) {
    }

    final Arena arena;
    final MemorySegment mapping;
    final int capacity;

    private SharedFile(Arena arena, MemorySegment mapping, int capacity) {
        this.arena = arena;
        this.mapping = mapping;
        this.capacity = capacity;
    }

    /**
     * Creates {@code file} (it must not exist), owner-only, for {@code capacity} bytes, writes the header and maps it.
     * With {@code allocatePages} every page is written now, so a full file system fails the creation rather than a
     * later store; otherwise the file is sparse (tmpfs gives pages as they are touched).
     *
     * @throws IOException it cannot be created or filled; nothing is left behind
     */
    static SharedFile create(Path file, Kind kind, int capacity, boolean allocatePages) throws IOException {
        Arena arena = Arena.ofShared();
        boolean done = false;
        try (FileChannel fc = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(OWNER_ONLY))) {
            long size = kind.size().applyAsLong(capacity);
            if (allocatePages) {
                ByteBuffer zeros = ByteBuffer.allocateDirect(ZEROS);
                for (long at = 0; at < size; ) {
                    zeros.clear().limit((int) Math.min(ZEROS, size - at));
                    at += fc.write(zeros, at);
                }
            } else {
                fc.write(ByteBuffer.allocate(1), size - 1);
            }
            MemorySegment mapping = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            mapping.set(LONG, 0, kind.magic());
            mapping.set(INT, 8, kind.version());
            mapping.set(INT, 12, capacity);
            done = true;
            return new SharedFile(arena, mapping, capacity);
        } finally {
            if (!done) {
                arena.close();
                Files.deleteIfExists(file);
            }
        }
    }

    /**
     * Maps {@code file}, made by a peer with {@link #create}, after checking that it is what it must be: a regular
     * file of {@code owner}, readable and writable by its owner only, with the magic and version of this code, and a
     * capacity within the kind's bounds that its size matches. Deletes its name once mapped (or found wrong).
     *
     * @throws IOException the file is missing or wrong (the message says how)
     */
    static SharedFile open(Path file, UserPrincipal owner, Kind kind) throws IOException {
        String what = kind.name();
        try {
            PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!a.isRegularFile() || !a.owner().equals(owner) || !a.permissions().equals(OWNER_ONLY)) {
                throw new IOException(what + " " + file + " is not a regular file of " + owner.getName()
                        + " with permissions rw------- (it is " + (a.isRegularFile() ? "" : "not regular, ")
                        + a.owner().getName() + ", " + PosixFilePermissions.toString(a.permissions()) + ")");
            }
            long size = a.size();
            if (size < kind.size().applyAsLong(kind.minCapacity()) || size > kind.size().applyAsLong(kind.maxCapacity())) {
                throw new IOException(what + " " + file + " has an impossible size: " + size);
            }
            Arena arena = Arena.ofShared();
            boolean done = false;
            try (FileChannel fc = FileChannel.open(file, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS))) {
                MemorySegment mapping = fc.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                long magic = mapping.get(LONG, 0);
                int version = mapping.get(INT, 8);
                int capacity = mapping.get(INT, 12);
                if (magic != kind.magic() || version != kind.version()) {
                    throw new IOException(what + " " + file + " is not a Baton " + what + " of version "
                            + kind.version() + " (magic " + Long.toHexString(magic) + ", version " + version + ")");
                }
                if (Integer.bitCount(capacity) != 1 || capacity < kind.minCapacity()
                        || size != kind.size().applyAsLong(capacity)) {
                    throw new IOException(what + " " + file + ": capacity " + capacity + " does not match its size "
                            + size);
                }
                done = true;
                return new SharedFile(arena, mapping, capacity);
            } finally {
                if (!done) {
                    arena.close();
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /**
     * Unmaps the file. A thread still using it then fails with {@link IllegalStateException}, never touches unmapped
     * memory. Returns false when the JDK refused because a thread is inside an access right now: call again later.
     */
    boolean unmap() {
        try {
            arena.close();
            return true;
        } catch (IllegalStateException e) {
            return !arena.scope().isAlive();
        }
    }
}
