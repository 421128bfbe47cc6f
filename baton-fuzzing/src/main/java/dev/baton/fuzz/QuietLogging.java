package dev.baton.fuzz;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Turns the named loggers off while a fuzz target runs: every malformed input is logged as a protocol error, and
 * millions of such lines would make fuzzing crawl. The targets detect failures by outcome (an exception, a close
 * cause, an answer's status), not by reading logs. {@link #close()} restores the levels. A fuzz test class registers
 * {@link #whileTheClassRuns} as a static extension.
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

    /**
     * A JUnit extension that silences {@code names} from before a test class's first test until after its last:
     * {@code @RegisterExtension static final QuietLogging.Extension QUIET = QuietLogging.whileTheClassRuns("dev.baton");}
     */
    public static Extension whileTheClassRuns(String... names) {
        return new Extension(names);
    }

    /** See {@link #whileTheClassRuns}. */
    public static final class Extension implements BeforeAllCallback, AfterAllCallback {
        private final String[] names;
        private QuietLogging quiet;

        private Extension(String... names) {
            this.names = names.clone();
        }

        @Override
        public void beforeAll(ExtensionContext context) {
            quiet = quiet(names);
        }

        @Override
        public void afterAll(ExtensionContext context) {
            quiet.close();
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < loggers.size(); i++) {
            loggers.get(i).setLevel(levels.get(i));
        }
    }
}
