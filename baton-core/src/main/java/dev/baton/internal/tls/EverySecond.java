package dev.baton.internal.tls;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A virtual thread that calls an action on an owner every second for as long as the owner is in use: it holds the
 * owner only weakly and ends once the owner has been collected. For the background revocation checks, whose owners
 * live as long as the transport factory that holds them and are never closed.
 */
final class EverySecond {

    static final Duration PERIOD = Duration.ofSeconds(1);

    private EverySecond() {
    }

    /** Starts the thread, named {@code name}, and returns it; {@code action} must not hold {@code owner} itself. */
    static <T> Thread start(String name, T owner, Consumer<T> action) {
        WeakReference<T> ref = new WeakReference<>(owner);
        return Thread.ofVirtual().name(name).start(() -> {
            while (true) {
                try {
                    Thread.sleep(PERIOD);
                } catch (InterruptedException e) {
                    return;
                }
                if (!runOnce(ref, action)) {
                    return;
                }
            }
        });
    }

    /** In a frame of its own, so no local variable of the loop keeps the owner reachable while the thread sleeps. */
    private static <T> boolean runOnce(WeakReference<T> ref, Consumer<T> action) {
        T owner = ref.get();
        if (owner == null) {
            return false;
        }
        action.accept(owner);
        return true;
    }
}
