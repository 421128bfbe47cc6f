package dev.baton.spi;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The {@link Compressor}s of this process, found once with the {@link ServiceLoader} (the module path's providers,
 * then the class path's): at most one per encoding id, the first found winning.
 */
public final class Compressors {

    /** The largest encoding id the wire can carry (its bit must fit the handshake's 16-bit mask). */
    public static final int MAX_ID = 15;

    private static final Compressor[] BY_ID = load();
    private static final int AVAILABLE = mask(BY_ID);

    private Compressors() {
    }

    /** The compressor for encoding {@code id}, or null when none is on the class or module path. */
    public static Compressor forId(int id) {
        return id > 0 && id <= MAX_ID ? BY_ID[id] : null;
    }

    /** The encodings this process can compress and decompress, as a mask of {@code 1 << id}. */
    public static int availableMask() {
        return AVAILABLE;
    }

    /** The compressors found, in id order. */
    public static List<Compressor> all() {
        List<Compressor> all = new ArrayList<>();
        for (Compressor c : BY_ID) {
            if (c != null) {
                all.add(c);
            }
        }
        return all;
    }

    private static Compressor[] load() {
        Compressor[] byId = new Compressor[MAX_ID + 1];
        for (Compressor c : ServiceLoader.load(Compressor.class, Compressors.class.getClassLoader())) {
            int id = c.id();
            if (id < 1 || id > MAX_ID) {
                System.getLogger(Compressors.class.getName()).log(System.Logger.Level.WARNING,
                        "ignoring compressor {0}: its id {1} is not between 1 and {2}", c.getClass().getName(), id, MAX_ID);
            } else if (byId[id] == null) {
                byId[id] = c;
            }
        }
        return byId;
    }

    private static int mask(Compressor[] byId) {
        int m = 0;
        for (int i = 1; i <= MAX_ID; i++) {
            if (byId[i] != null) {
                m |= 1 << i;
            }
        }
        return m;
    }
}
