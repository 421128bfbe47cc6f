package dev.baton.micrometer;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The call statistics of one service, by method and outcome, found without allocating: a sorted array of the
 * methods seen, searched by binary search, and per method an array by status code. Replaced as a whole (copy on
 * write) when a method or outcome is first seen, so readers never lock.
 */
final class MethodStats {

    private static final int OUTCOMES = dev.baton.Status.Code.values().length;

    private record Table(int[] methods, CallStats[][] byOutcome) {
    }

    private volatile Table table = new Table(new int[0], new CallStats[0][]);

    MethodStats(String service) {
    }

    /** The statistics of {@code method} and outcome {@code code} (a Status.Code ordinal), or null if not made yet. */
    CallStats stats(int method, int code) {
        Table t = table;
        int i = Arrays.binarySearch(t.methods, method);
        return i < 0 ? null : t.byOutcome[i][code];
    }

    /** Makes (once) and returns the statistics of {@code method} and {@code code}. */
    synchronized CallStats register(int method, int code, Supplier<CallStats> make) {
        Table t = table;
        int i = Arrays.binarySearch(t.methods, method);
        if (i < 0) {
            int at = -i - 1;
            int[] methods = new int[t.methods.length + 1];
            CallStats[][] rows = new CallStats[methods.length][];
            System.arraycopy(t.methods, 0, methods, 0, at);
            System.arraycopy(t.byOutcome, 0, rows, 0, at);
            methods[at] = method;
            rows[at] = new CallStats[OUTCOMES];
            System.arraycopy(t.methods, at, methods, at + 1, t.methods.length - at);
            System.arraycopy(t.byOutcome, at, rows, at + 1, t.byOutcome.length - at);
            t = new Table(methods, rows);
            i = at;
        }
        CallStats found = t.byOutcome[i][code];
        if (found == null) {
            found = make.get();
            CallStats[] row = t.byOutcome[i].clone();
            row[code] = found;
            CallStats[][] rows = t.byOutcome.clone();
            rows[i] = row;
            t = new Table(t.methods, rows);
        }
        table = t;
        return found;
    }
}
