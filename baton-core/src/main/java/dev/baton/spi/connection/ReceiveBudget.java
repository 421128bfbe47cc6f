package dev.baton.spi.connection;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes that frames too large for a read buffer may hold while they arrive, shared by every connection of a
 * transport (see {@link dev.baton.spi.TransportSettings#receiveBudgetBytes()}). A frame reserves its whole
 * length when its header arrives and gives it back once the frame is delivered (or its connection closes),
 * so a peer that declares large frames and sends them slowly can hold at most the budget, whatever the number
 * of connections. A frame larger than the whole budget is admitted only when nothing else holds any of it.
 *
 * <p>Thread-safe and lock-free.
 */
public final class ReceiveBudget {

    private final long totalBytes;
    private final AtomicLong inUse = new AtomicLong();

    public ReceiveBudget(long totalBytes) {
        if (totalBytes <= 0) {
            throw new IllegalArgumentException("totalBytes must be positive, was " + totalBytes);
        }
        this.totalBytes = totalBytes;
    }

    /** Reserves {@code bytes}; false (nothing reserved) when the budget cannot hold them now. */
    public boolean tryReserve(long bytes) {
        while (true) {
            long used = inUse.get();
            if (used != 0 && used + bytes > totalBytes) {
                return false;
            }
            if (inUse.compareAndSet(used, used + bytes)) {
                return true;
            }
        }
    }

    /** Gives back {@code bytes} reserved before. */
    public void release(long bytes) {
        inUse.addAndGet(-bytes);
    }

    /** Bytes reserved now. */
    public long inUseBytes() {
        return inUse.get();
    }

    public long totalBytes() {
        return totalBytes;
    }
}
