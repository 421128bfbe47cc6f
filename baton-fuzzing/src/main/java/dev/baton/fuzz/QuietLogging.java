package dev.baton.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns the named loggers off while a fuzz target runs: every malformed input is logged as a protocol error, and
 * millions of such lines would make fuzzing crawl. The targets detect failures by outcome (an exception, a close
 * cause, an answer's status), not by reading logs. {@link #close()} restores the levels.
 */
public final class QuietLogging implements AutoCloseable {

    private final List<Logger> loggers = new ArrayList<>();     // held strongly: JUL keeps loggers weakly
    private final List<Level> levels = new ArrayList<>();

    private QuietLogging(String... names) {
        for (String name : names) {
            Logger l = Logger.getLogger(name);
            loggers.add(l);
            levels.add(l.getLevel());
            l.setLevel(Level.OFF);
        }
    }

    /** Silences {@code names} (logger name prefixes such as {@code dev.baton}) until closed. */
    public static QuietLogging quiet(String... names) {
        return new QuietLogging(names);
    }

    @Override
    public void close() {
        for (int i = 0; i < loggers.size(); i++) {
            loggers.get(i).setLevel(levels.get(i));
        }
    }
}
