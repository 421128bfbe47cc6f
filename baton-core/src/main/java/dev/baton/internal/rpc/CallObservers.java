package dev.baton.internal.rpc;

import dev.baton.CallObserver;
import dev.baton.Metadata;
import dev.baton.Status;

import java.util.Arrays;

/**
 * The observers interceptors returned for one call, told of its end once, in reverse order. Only calls that met
 * an interceptor have one. Filled by one thread before the call goes on; {@link #end} runs once (its caller
 * guarantees that).
 */
final class CallObservers {

    private static final System.Logger LOG = System.getLogger(CallObservers.class.getName());

    private CallObserver[] observers = new CallObserver[2];
    private int count;

    void add(CallObserver o) {
        if (count == observers.length) {
            observers = Arrays.copyOf(observers, count * 2);
        }
        observers[count++] = o;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Tells {@code observers} (null: none), the last added first; an observer that throws is logged and skipped. */
    static void end(CallObservers observers, Status status, Metadata responseMetadata) {
        if (observers != null) {
            observers.end(status, responseMetadata);
        }
    }

    /** Tells every observer, the last added first; an observer that throws is logged and skipped. */
    void end(Status status, Metadata responseMetadata) {
        Metadata m = responseMetadata == null ? Metadata.EMPTY : responseMetadata;
        for (int i = count - 1; i >= 0; i--) {
            try {
                observers[i].onEnd(status, m);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a call observer threw; ignored", e);
            }
        }
    }

    /** The status for an interceptor that threw: its own when it refused, INTERNAL when it failed. */
    static Status refusal(RuntimeException e, String side) {
        if (e instanceof dev.baton.BatonException b) {
            return b.status();
        }
        return Status.of(Status.Code.INTERNAL, "a " + side + " interceptor threw " + e).withCause(e);
    }
}
