package dev.baton.testkit.tls;

import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** The formatted messages a logger writes at WARNING or worse while this is open. */
final class Warnings extends Handler implements AutoCloseable {

    private final Logger logger;
    private final List<String> messages = new CopyOnWriteArrayList<>();

    private Warnings(Logger logger) {
        this.logger = logger;
    }

    /** Starts capturing the warnings of the logger named {@code name} (the class it belongs to). */
    static Warnings of(String name) {
        Warnings w = new Warnings(Logger.getLogger(name));
        w.logger.addHandler(w);
        return w;
    }

    /** What was logged so far, in order. */
    List<String> messages() {
        return List.copyOf(messages);
    }

    @Override
    public void publish(LogRecord r) {
        if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
            messages.add(r.getParameters() == null ? r.getMessage()
                    : MessageFormat.format(r.getMessage(), r.getParameters()));
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
