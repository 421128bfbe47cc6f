package dev.baton.bench;

import java.util.List;

/**
 * What one system x workload run measured. Latencies in microseconds from issuing a call to its completion;
 * {@code mbPerS} is payload bytes per second in each direction (1 MB = 10^6 bytes); {@code allocBytesPerCall}
 * is what the harness JVM allocated per call (see {@link AllocationMeter}). Null where not measured.
 *
 * @param error why the run failed, or null
 */
record Result(SystemKind system, Workload workload, Double p50Us, Double p99Us, Double p999Us, Double callsPerS,
              Double mbPerS, Double allocBytesPerCall, long calls, long errors, double seconds, String error) {

    static Result failed(SystemKind system, Workload workload, long errors, String error) {
        return new Result(system, workload, null, null, null, null, null, null, 0, errors, 0, error);
    }

    /** The result of {@code system} on {@code workload} in {@code results}, or null. */
    static Result find(List<Result> results, SystemKind system, Workload workload) {
        for (Result r : results) {
            if (r.system() == system && r.workload() == workload) {
                return r;
            }
        }
        return null;
    }

    boolean ok() {
        return error == null;
    }

    /** Whose allocations {@link #allocBytesPerCall()} counts. */
    String allocScope() {
        return system.remote ? "client JVM" : "client and server (one JVM)";
    }
}
