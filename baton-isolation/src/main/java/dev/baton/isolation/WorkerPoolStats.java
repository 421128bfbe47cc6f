package dev.baton.isolation;

import java.util.List;
import java.util.Map;

/**
 * What a {@link WorkerPool} is doing, for operators: a snapshot, consistent within itself.
 *
 * @param name            the pool's name
 * @param alive           worker processes ready or serving (not counting those starting or being stopped)
 * @param busy            workers serving a call
 * @param starting        workers being started (not yet ready)
 * @param queued          calls waiting for a worker
 * @param callsServed     calls a worker answered (a response, or a handler's failure)
 * @param restarts        workers started to replace one that died or was stopped
 * @param deadlineKills   workers stopped because their call's deadline passed
 * @param cancelKills     workers stopped because their caller cancelled the call
 * @param queueFull       calls refused (RESOURCE_EXHAUSTED, retry-safe) because the queue was full
 * @param recycled        workers replaced after answering their {@code maxCallsPerWorker} calls
 * @param crashes         workers that died serving a call (or idle), by kind
 * @param workerPids      the process ids of the live workers (ready or serving)
 */
public record WorkerPoolStats(String name, int alive, int busy, int starting, int queued, long callsServed,
                              long restarts, long deadlineKills, long cancelKills, long queueFull,
                              long recycled, Map<CrashKind, Long> crashes, List<Long> workerPids) {

    public WorkerPoolStats {
        crashes = Map.copyOf(crashes);
        workerPids = List.copyOf(workerPids);
    }

    /** Crashes of every kind. */
    public long crashCount() {
        return crashes.values().stream().mapToLong(Long::longValue).sum();
    }
}
