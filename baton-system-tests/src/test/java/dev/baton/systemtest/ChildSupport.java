package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import dev.baton.Membership;
import dev.baton.NodeInfo;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * What the child mains share: their stdout protocol and their lifeline to the parent.
 *
 * <p>A child's stdin is a pipe that its {@link ChildJvm} holds open; end-of-file on it means "stop". That is
 * how a test stops a child gracefully, and it is also why a child never outlives the test JVM: when that
 * JVM dies, however it dies, the pipe closes.
 *
 * <p>Lines a test waits for are printed with {@link #println}, which flushes, so the parent sees them at once.
 */
final class ChildSupport {

    private ChildSupport() {
    }

    /** Prints one protocol line and flushes it. */
    static void println(String line) {
        synchronized (System.out) {
            System.out.println(line);
            System.out.flush();
        }
    }

    /** Blocks until stdin reaches end-of-file (the parent closed it, or died). */
    static void awaitStdinEof() {
        InputStream in = System.in;
        byte[] sink = new byte[256];
        try {
            while (in.read(sink) >= 0) {
                // Input is ignored: only its end matters.
            }
        } catch (IOException e) {
            // A broken pipe means the same as end-of-file: the parent is gone.
        }
    }

    /** Ends this process with {@code status} as soon as stdin reaches end-of-file. */
    static void exitWhenStdinCloses(int status) {
        Thread.ofPlatform().daemon(true).name("stdin-watch").start(() -> {
            awaitStdinEof();
            System.err.println("stdin closed: the parent is gone or asked us to stop; exiting with " + status);
            System.exit(status);
        });
    }

    /** The {@code NODES [r0, r1, ...]} line: the ranks of a membership view, ascending. */
    static String nodesLine(List<Integer> ranks) {
        return "NODES " + ranks;
    }

    static String nodesLine(Membership membership) {
        return nodesLine(membership.nodes().stream().map(NodeInfo::rank).sorted().toList());
    }
}
