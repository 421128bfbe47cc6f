package dev.baton.internal.tcp;

/**
 * Spin, then yield, then give up: how a waiting thread behaves before it parks. On this class of machine
 * a cross-core wake-up costs 20-40 µs, so a short spin saves most round trips from paying it, while the
 * bound keeps a 2-core box from being starved by spinners.
 */
public final class IdleStrategy {

    private IdleStrategy() {
    }

    /**
     * Spins (with {@link Thread#onSpinWait()}) until {@code condition} holds or {@code spinNs} elapse.
     * Returns whether the condition held.
     */
    public static boolean spinUntil(java.util.function.BooleanSupplier condition, long spinNs) {
        if (condition.getAsBoolean()) {
            return true;
        }
        if (spinNs <= 0) {
            return false;
        }
        long end = System.nanoTime() + spinNs;
        int i = 0;
        while (true) {
            for (int j = 0; j < 64; j++) {
                Thread.onSpinWait();
            }
            if (condition.getAsBoolean()) {
                return true;
            }
            if ((++i & 7) == 0 && System.nanoTime() - end > 0) {
                return false;
            }
        }
    }
}
