package dev.baton.internal.rpc;

/** A call's entry in the deadline wheel: the wheel's references are the call's, and expiry is its deadline. */
final class CallDeadline extends DeadlineTimer.Entry {

    private final PendingCall call;

    CallDeadline(PendingCall call) {
        this.call = call;
    }

    @Override
    void retain() {
        call.retain();
    }

    @Override
    void release() {
        call.release();
    }

    @Override
    void expire() {
        call.onDeadline();
    }
}
