package dev.baton;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The records a {@code java.util.logging} logger (and its children) publishes that a predicate accepts, gathered
 * from {@link #start} until {@link #close()}. For tests that count what was logged.
 */
final class LogCapture implements AutoCloseable {

    private final Logger logger;
    private final Handler handler;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();

    private LogCapture(Logger logger, Predicate<LogRecord> which) {
        this.logger = logger;
        this.handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (which.test(r)) {
                    records.add(r);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        logger.addHandler(handler);
    }

    static LogCapture start(String loggerName, Predicate<LogRecord> which) {
        return new LogCapture(Logger.getLogger(loggerName), which);
    }

    /** Records at WARNING or above. */
    static Predicate<LogRecord> warningsAndAbove() {
        return r -> r.getLevel().intValue() >= Level.WARNING.intValue();
    }

    /** What was gathered so far, in order (a live view). */
    List<LogRecord> records() {
        return records;
    }

    /** The gathered records' raw messages. */
    List<String> messages() {
        return records.stream().map(LogRecord::getMessage).toList();
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
    }

    @Override
    public String toString() {
        return messages().toString();
    }
}
