package dev.baton.bench;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The progress bar over the whole run's planned warm-up and measuring time; silent when disabled. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;
    private long base;

    Progress(boolean enabled, long totalMs) {
        this.bar = enabled ? new ProgressBarBuilder()
                .setTaskName("bench")
                .setInitialMax(Math.max(1, totalMs))
                .setUnit(" s", 1000)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(120)
                .build() : null;
    }

    boolean enabled() {
        return bar != null;
    }

    void message(String text) {
        if (bar != null) {
            bar.setExtraMessage(text);
        }
    }

    /** Sets the progress within the current cell. */
    void advance(long cellElapsedMs) {
        if (bar != null) {
            bar.stepTo(Math.min(bar.getMax(), base + cellElapsedMs));
        }
    }

    void cellDone(long cellMs) {
        base += cellMs;
        if (bar != null) {
            bar.stepTo(Math.min(bar.getMax(), base));
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.setExtraMessage("done");
            bar.close();
        }
    }
}
