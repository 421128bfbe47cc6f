package dev.baton;

import dev.baton.spi.BatonProvider;

import java.util.ServiceLoader;

/** Finds the implementation behind the public API once, with {@link ServiceLoader} (see {@link BatonProvider}). */
final class Providers {

    private Providers() {
    }

    static BatonProvider get() {
        return Holder.PROVIDER;
    }

    private static final class Holder {
        static final BatonProvider PROVIDER = ServiceLoader.load(BatonProvider.class, BatonProvider.class.getClassLoader())
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no Baton implementation found: baton-core's "
                        + "META-INF/services/dev.baton.spi.BatonProvider (or its module's 'provides') is missing"));
    }
}
