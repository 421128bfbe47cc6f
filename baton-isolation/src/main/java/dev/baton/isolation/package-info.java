/**
 * Isolated handlers: {@link dev.baton.isolation.WorkerPool} runs {@link dev.baton.isolation.IsolatedHandler}s in
 * supervised worker JVMs, one call per worker at a time. A call's deadline bounds its work; a worker that dies
 * fails only its own call ({@link dev.baton.Status.Code#WORKER_CRASHED}) and is replaced. See docs/isolation.md.
 */
package dev.baton.isolation;
