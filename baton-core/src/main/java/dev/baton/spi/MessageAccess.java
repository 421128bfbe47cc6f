package dev.baton.spi;

import dev.baton.Message;
import dev.baton.Metadata;

import java.nio.ByteBuffer;

/**
 * Lent messages, for transports and the runtime (not for applications): a transport lends the pooled buffer
 * a frame was received into, without allocating a {@link Message} per frame; the runtime recycles the message
 * object and gives the buffer back to the transport's {@link BufferRecycler} once the code it lent them to is
 * done with them. This is how a transport in another module hands received buffers to the runtime exactly
 * as Baton's own TCP transport does.
 *
 * <p>A lent message is valid while its borrower runs (a handler until it answers, a response listener until it
 * returns); its {@link Message#close()} does nothing, so a borrower that closes it cannot free what the
 * runtime still uses. The runtime gives it back with {@link #release} or turns it into an ordinary message
 * (one the receiver owns and closes) with {@link #own}.
 *
 * <p>Set once by {@link Message}'s static initializer (the pattern of the JDK's {@code SharedSecrets}).
 */
public interface MessageAccess {

    /** A lent message over {@code buffer}'s [position, limit), whose buffer goes to {@code recycler} on release. */
    Message lend(ByteBuffer buffer, BufferRecycler recycler);

    /**
     * Attaches the metadata that came with {@code message} (null for none) and returns it; the shared empty
     * message is replaced by a new empty one.
     */
    Message withMetadata(Message message, Metadata metadata);

    /** Ends a loan (or closes an ordinary message): recycles the buffer, and the message object if lent. */
    void release(Message message);

    /** An ordinary message over the same bytes, for a receiver that keeps it; ends the loan without a copy. */
    Message own(Message message);

    /** The message's buffer itself, not a view: its [position, limit) are the payload. Must not be moved. */
    ByteBuffer data(Message message);

    /** The registered access; initializes {@link Message} first if nothing has yet. */
    static MessageAccess get() {
        MessageAccess a = Slot.access;
        if (a == null) {
            Message.empty();        // runs Message's static initializer, which registers
            a = Slot.access;
        }
        return a;
    }

    /** Registration point for {@link Message}'s static initializer; not for other callers. */
    static void register(MessageAccess access) {
        if (Slot.access != null) {
            throw new IllegalStateException("already registered");
        }
        Slot.access = access;
    }

    /** Only a field: touching it runs no initializer, whichever class initializes first. */
    final class Slot {
        private static volatile MessageAccess access;

        private Slot() {
        }
    }
}
