package dev.baton.spi.connection;

/**
 * Whether a connection's frame in progress is stalled: it neither completed nor gained
 * {@value FrameReader#MIN_PROGRESS_BYTES} bytes in the last window ({@value FrameReader#PROGRESS_WINDOW_NS} ns). That
 * holds for a large frame (which holds budget, or waits for it) and for part of a small one sitting in the read
 * buffer, so a peer that trickles a frame holds its buffers for 5 s at most. A frame that waits for budget with a full
 * read buffer cannot gain (this side stopped reading it): it does not count as in progress, and the window starts
 * again once it resumes. The loop's tick only.
 */
final class FrameProgress {

    private long windowStartNanos;
    private long windowStartBytes;
    private long windowStartFrames;

    /**
     * Null, or why the frame in progress is stalled.
     *
     * @param inProgress a frame is in progress and may gain bytes
     * @param read       the bytes read from the connection so far
     * @param frames     the frames delivered so far
     */
    String check(long nowNanos, boolean inProgress, long read, long frames) {
        if (!inProgress) {
            windowStartNanos = 0;
            return null;
        }
        if (windowStartNanos == 0) {
            windowStartNanos = nowNanos;
            windowStartBytes = read;
            windowStartFrames = frames;
            return null;
        }
        if (nowNanos - windowStartNanos < FrameReader.PROGRESS_WINDOW_NS) {
            return null;
        }
        long gained = read - windowStartBytes;
        boolean completed = frames != windowStartFrames;
        windowStartNanos = nowNanos;
        windowStartBytes = read;
        windowStartFrames = frames;
        return completed || gained >= FrameReader.MIN_PROGRESS_BYTES ? null : "a frame in progress gained only "
                + gained + " bytes in " + FrameReader.PROGRESS_WINDOW_NS / 1_000_000L + " ms";
    }
}
