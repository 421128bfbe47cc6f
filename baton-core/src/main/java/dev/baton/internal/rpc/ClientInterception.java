package dev.baton.internal.rpc;

import dev.baton.CallObserver;
import dev.baton.CallOptions;
import dev.baton.ClientInterceptor;
import dev.baton.OutgoingCall;
import dev.baton.Status;

import java.util.Objects;

/** Runs a client's interceptors over a call that is starting: the {@link OutgoingCall} they see. */
final class ClientInterception implements OutgoingCall {

    private final String service;
    private final int method;
    private CallOptions options;
    private CallObservers observers;
    private Status refusal;

    private ClientInterception(String service, int method, CallOptions options) {
        this.service = service;
        this.method = method;
        this.options = options;
    }

    /** Runs {@code interceptors} in order, stopping at the first that refuses. */
    static ClientInterception run(ClientInterceptor[] interceptors, String service, int method, CallOptions options) {
        ClientInterception x = new ClientInterception(service, method, options);
        for (ClientInterceptor interceptor : interceptors) {
            try {
                CallObserver o = interceptor.interceptCall(x);
                if (o != null) {
                    if (x.observers == null) {
                        x.observers = new CallObservers();
                    }
                    x.observers.add(o);
                }
            } catch (RuntimeException e) {
                x.refusal = CallObservers.refusal(e, "client").withRetrySafe(true);
                break;
            }
        }
        return x;
    }

    /** The options the interceptors left. */
    CallOptions result() {
        return options;
    }

    /** The observers to tell of the call's end, or null. */
    CallObservers observers() {
        return observers;
    }

    /** Why an interceptor refused the call, or null. */
    Status refusal() {
        return refusal;
    }

    @Override
    public String service() {
        return service;
    }

    @Override
    public int method() {
        return method;
    }

    @Override
    public CallOptions options() {
        return options;
    }

    @Override
    public void options(CallOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }
}
