package dev.baton.internal.rpc;

import dev.baton.Message;

import java.util.concurrent.CompletableFuture;

/** The future a caller holds; cancelling it cancels the call (and tells the server). */
final class CallFuture extends CompletableFuture<Message> {

    private final PendingCall call;

    CallFuture(PendingCall call) {
        this.call = call;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (!call.finish()) {
            return false;
        }
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        call.afterCancel();
        return cancelled;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }
}
