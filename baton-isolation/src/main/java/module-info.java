/**
 * Isolated handlers: {@link dev.baton.isolation.WorkerPool} runs a server's handlers
 * ({@link dev.baton.isolation.IsolatedHandler}) in supervised worker JVMs, so that work that loops, exhausts its
 * memory or crashes costs one call, never the server. See docs/isolation.md.
 */
module dev.baton.isolation {
    requires transitive dev.baton;      // AsyncHandler, ServerCall, Status, BatonException, Metadata
    requires dev.baton.process;         // ChildJvm: start, output, bounded escalation

    exports dev.baton.isolation;
    // dev.baton.isolation.internal (the worker's main class and the supervisor-worker frames) is not exported:
    // workers run it on the class path.
}
