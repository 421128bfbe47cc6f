package dev.baton.process;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.BlockingQueue;

/**
 * The thread that reads a child's output line by line (UTF-8) and hands each line on: kept (the latest
 * {@code keepLines}), copied to the output log, echoed, and posted to the line queue; then one end-of-output line.
 *
 * <p>The log writer belongs to the reader thread once started. A log that fails (a full disk) stops logging,
 * never reading: a child blocked on a full pipe would hang. {@link #kept()} and {@link #isEnded()} may be called
 * from any thread.
 */
final class OutputReader {

    private final ChildJvm child;
    private final InputStream output;
    private final int keepLines;
    private final PrintStream echo;
    private final BlockingQueue<ChildJvm.Line> lines;
    private final Path logPath;
    private final ArrayDeque<String> kept = new ArrayDeque<>();   // guarded by itself
    private final Thread thread;
    private BufferedWriter log;
    private volatile boolean ended;

    /** A reader of {@code output}; {@code log} (open on {@code logPath}) may be null. Closes both when done. */
    OutputReader(ChildJvm child, InputStream output, String threadName, int keepLines, PrintStream echo,
                 BlockingQueue<ChildJvm.Line> lines, Path logPath, BufferedWriter log) {
        this.child = child;
        this.output = output;
        this.keepLines = keepLines;
        this.echo = echo;
        this.lines = lines;
        this.logPath = logPath;
        this.log = log;
        this.thread = Thread.ofPlatform().daemon(true).name(threadName).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** The latest lines, oldest first. */
    List<String> kept() {
        synchronized (kept) {
            return List.copyOf(kept);
        }
    }

    /** True once the output has ended (its end-of-output line is posted, or about to be). */
    boolean isEnded() {
        return ended;
    }

    boolean isAlive() {
        return thread.isAlive();
    }

    /** Waits until the thread has ended or {@code deadlineNs} (nanoTime) passed; true if it ended. */
    boolean joinUntil(long deadlineNs) {
        try {
            thread.join(Duration.ofNanos(Math.max(1, deadlineNs - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    private void run() {
        String prefix = "[" + child.name() + " " + child.pid() + "] ";
        try (BufferedReader in = new BufferedReader(new InputStreamReader(output, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                keep(line);
                writeToLog(line);
                if (echo != null) {
                    echo.println(prefix + line);
                }
                lines.add(new ChildJvm.Line(child, line));
            }
        } catch (IOException | UncheckedIOException e) {
            keep("(reading its output failed: " + e + ")");
        } finally {
            closeLog();
            ended = true;
            lines.add(new ChildJvm.Line(child, null));
        }
    }

    private void keep(String line) {
        if (keepLines == 0) {
            return;
        }
        synchronized (kept) {
            if (kept.size() == keepLines) {
                kept.pollFirst();
            }
            kept.addLast(line);
        }
    }

    private void writeToLog(String line) {
        if (log == null) {
            return;
        }
        try {
            log.write(line);
            log.newLine();
            log.flush();   // a child that crashes leaves a complete log
        } catch (IOException e) {
            keep("(writing its output log " + logPath + " failed, no more is logged: " + e + ")");
            closeLog();
        }
    }

    private void closeLog() {
        if (log != null) {
            try {
                log.close();
            } catch (IOException e) {
                // Nothing more will be written to it.
            }
            log = null;
        }
    }
}
