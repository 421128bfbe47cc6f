package dev.baton.micrometer;

import io.micrometer.core.instrument.Timer;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The timers of one service, by method and outcome, found without allocating: a sorted array of the methods seen,
 * searched by binary search, and per method an array by status code. Replaced as a whole (copy on write) when a
 * method is first seen, so readers never lock.
 */
final class MethodTimers {

    private static final int OUTCOMES = dev.baton.Status.Code.values().length;

    private record Table(int[] methods, Timer[][] timers) {
    }

    private volatile Table table = new Table(new int[0], new Timer[0][]);

    MethodTimers(String service) {
    }

    /** The timer of {@code method} and outcome {@code code} (a Status.Code ordinal), or null if not made yet. */
    Timer timer(int method, int code) {
        Table t = table;
        int i = Arrays.binarySearch(t.methods, method);
        return i < 0 ? null : t.timers[i][code];
    }

    /** Makes (once) and returns the timer of {@code method} and {@code code}. */
    synchronized Timer register(int method, int code, Supplier<Timer> make) {
        Table t = table;
        int i = Arrays.binarySearch(t.methods, method);
        if (i < 0) {
            int at = -i - 1;
            int[] methods = new int[t.methods.length + 1];
            Timer[][] timers = new Timer[methods.length][];
            System.arraycopy(t.methods, 0, methods, 0, at);
            System.arraycopy(t.timers, 0, timers, 0, at);
            methods[at] = method;
            timers[at] = new Timer[OUTCOMES];
            System.arraycopy(t.methods, at, methods, at + 1, t.methods.length - at);
            System.arraycopy(t.timers, at, timers, at + 1, t.timers.length - at);
            t = new Table(methods, timers);
            i = at;
        }
        Timer timer = t.timers[i][code];
        if (timer == null) {
            timer = make.get();
            Timer[] row = t.timers[i].clone();
            row[code] = timer;
            Timer[][] timers = t.timers.clone();
            timers[i] = row;
            t = new Table(t.methods, timers);
        }
        table = t;
        return timer;
    }
}
