package dev.baton.isolation;

import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pool's settings, fixed at its start from its {@link WorkerPool.Builder}, and the checks the builder makes of
 * what it is given: the worker JVMs' options (with the two the pool adds), the handler classes and their indexes,
 * the socket directory, and a call's deadline.
 *
 * <p>Immutable, so thread-safe; the checks are pure.
 *
 * @param concurrency how many calls run at once (the builder's {@code workers})
 * @param target      how many workers are kept started: {@code workers + spares}
 * @param jvmOptions  the builder's, then {@code -XX:+ExitOnOutOfMemoryError -XX:UserThreadWaitAttemptsAtExit=0}
 * @param classPath   the workers' class path; null for this JVM's
 * @param dir         the directory of the workers' sockets
 */
record PoolSettings(String name, int concurrency, int target, int maxQueued, int maxCallsPerWorker,
                    Duration killGrace, Duration startTimeout, long maxCallNanos, List<String> jvmOptions,
                    String classPath, int maxMessageSize, List<String> handlerNames,
                    Map<Class<?>, Integer> handlerIndex, Path dir) {

    /** The settings of a pool of {@code workers} serving and {@code spares} more started, as the builder has them. */
    static PoolSettings of(String name, int workers, int spares, int maxQueued, int maxCallsPerWorker,
                           Duration killGrace, Duration startTimeout, Duration maxCallTime, List<String> jvmOptions,
                           String classPath, int maxMessageSize, List<Class<? extends IsolatedHandler>> handlers,
                           Path dir) {
        List<String> opts = new ArrayList<>(jvmOptions);
        opts.add("-XX:+ExitOnOutOfMemoryError");
        // A JVM that exits waits up to 300 ms for its threads blocked in native code (the worker's stdin watcher
        // is one): measured 700 ms from System.exit or Runtime.halt to the socket's end without this, 25-40 with.
        opts.add("-XX:UserThreadWaitAttemptsAtExit=0");
        Map<Class<?>, Integer> index = new LinkedHashMap<>();
        for (Class<?> c : handlers) {
            index.put(c, index.size());
        }
        return new PoolSettings(name, workers, workers + spares, maxQueued, maxCallsPerWorker, killGrace,
                startTimeout, maxCallTime.toNanos(), List.copyOf(opts), classPath, maxMessageSize,
                handlers.stream().map(Class::getName).toList(), Map.copyOf(index), dir);
    }

    /** The index the workers know {@code handlerClass} by; IllegalArgumentException if it is not one of the pool's. */
    int indexOf(Class<? extends IsolatedHandler> handlerClass) {
        Integer index = handlerIndex.get(Objects.requireNonNull(handlerClass, "handlerClass"));
        if (index == null) {
            throw new IllegalArgumentException(handlerClass.getName() + " is not a handler of worker pool '" + name
                    + "' (its builder's handler(...) classes: " + handlerNames + ")");
        }
        return index;
    }

    /** The call's deadline (nanoTime; {@link Long#MAX_VALUE} for none), at most {@code maxCallTime} from now. */
    long deadline(long callDeadline) {
        long now = System.nanoTime();
        return callDeadline != Long.MAX_VALUE && callDeadline - now < maxCallNanos ? callDeadline : now + maxCallNanos;
    }

    // ================================================================== the builder's checks

    /** {@code name}, if it is a pool name: 1 to 40 letters, digits, '.', '_' or '-'. */
    static String checkName(String name) {
        if (Objects.requireNonNull(name, "name").isBlank() || !name.matches("[A-Za-z0-9._-]{1,40}")) {
            throw new IllegalArgumentException("a pool name is 1 to 40 letters, digits, '.', '_' or '-': " + name);
        }
        return name;
    }

    /** {@code handlerClass}, if a worker can make it: public, concrete, top-level or static, a public no-arg constructor. */
    static Class<? extends IsolatedHandler> checkHandlerClass(Class<? extends IsolatedHandler> handlerClass) {
        Objects.requireNonNull(handlerClass, "handlerClass");
        int m = handlerClass.getModifiers();
        if (!Modifier.isPublic(m) || Modifier.isAbstract(m) || handlerClass.isInterface()
                || (handlerClass.getEnclosingClass() != null && !Modifier.isStatic(m))) {
            throw new IllegalArgumentException(handlerClass.getName()
                    + " must be a public, concrete, top-level or static nested class");
        }
        try {
            if (!Modifier.isPublic(handlerClass.getConstructor().getModifiers())) {
                throw new NoSuchMethodException();
            }
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException(handlerClass.getName() + " has no public no-argument constructor");
        }
        return handlerClass;
    }

    static int positive(String what, int n) {
        if (n < 1) {
            throw new IllegalArgumentException(what + " must be at least 1, was " + n);
        }
        return n;
    }

    static int notNegative(String what, int n) {
        if (n < 0) {
            throw new IllegalArgumentException(what + " must not be negative, was " + n);
        }
        return n;
    }

    static Duration notNegative(String what, Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative, was " + d);
        }
        return d;
    }

    static Duration positive(String what, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, was " + d);
        }
        return d;
    }
}
