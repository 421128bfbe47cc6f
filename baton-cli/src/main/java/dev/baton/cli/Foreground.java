package dev.baton.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;

/**
 * How the long-running commands ({@code master}, {@code node}) live in the foreground: they hold their
 * resources until told to stop, and close them on the way out however the process ends.
 *
 * <h2>Ways to stop</h2>
 * <ul>
 *   <li>SIGTERM or SIGINT (Ctrl-C): the JVM runs its shutdown hooks, {@link #closeOnShutdown} closes the
 *       resource, and the process exits with 128 + the signal number (143, 130), as every JVM does.</li>
 *   <li>Supervised ({@code --supervised}, what {@code baton demo} passes to its children): end of input on
 *       stdin. The parent holds the other end of the pipe, so a parent that dies, even by SIGKILL, takes
 *       its children with it. The command returns normally and the process exits with 0.</li>
 * </ul>
 */
final class Foreground {

    private Foreground() {
    }

    /**
     * A resource that is closed when the JVM shuts down (signal, {@code System.exit}) unless it was closed
     * before: {@link #close()} unregisters the shutdown hook, then closes the resource.
     */
    static final class Owned<T extends AutoCloseable> implements AutoCloseable {
        private final T resource;
        private final Thread hook;

        private Owned(T resource, Thread hook) {
            this.resource = resource;
            this.hook = hook;
        }

        T get() {
            return resource;
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException exiting) {
                // The JVM is already shutting down and runs the hook too; the resource's close() is idempotent.
            }
            try {
                resource.close();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                // Master and Node close without checked exceptions; anything else is reported as it is.
                throw new IllegalStateException("closing " + resource + " failed: " + e, e);
            }
        }
    }

    /** Takes ownership of {@code resource}: it is closed with the returned object, or when the JVM ends. */
    static <T extends AutoCloseable> Owned<T> closeOnShutdown(String what, T resource, PrintWriter err) {
        Thread hook = new Thread(() -> {
            try {
                resource.close();
            } catch (Exception e) {
                err.println("baton: closing the " + what + " failed: " + e);
                err.flush();
            }
        }, "baton-shutdown-" + what);
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (RuntimeException e) {
            try {
                resource.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return new Owned<>(resource, hook);
    }

    /**
     * The request to stop, for a command that blocks until it comes ({@link Stop#await()}) or checks for it
     * between units of work ({@link Stop#requested()}). When {@code supervised}, a daemon thread reads stdin
     * and raises it at end of input; otherwise only the JVM's end (a signal) stops the command.
     */
    static Stop stopOnEndOfInput(boolean supervised) {
        Stop stop = new Stop();
        if (supervised) {
            Thread.ofPlatform().daemon(true).name("baton-stdin-watch").start(() -> {
                drain(System.in);
                stop.latch.countDown();
            });
        }
        return stop;
    }

    /** Thread-safe. */
    static final class Stop {
        private final CountDownLatch latch = new CountDownLatch(1);

        /** True once the command was asked to stop. */
        boolean requested() {
            return latch.getCount() == 0;
        }

        /** Blocks until the command is asked to stop (if it is never, until the JVM ends). */
        void await() throws InterruptedException {
            latch.await();
        }
    }

    private static void drain(InputStream in) {
        byte[] sink = new byte[256];
        try {
            while (in.read(sink) >= 0) {
                // The parent sends nothing; anything it does send is ignored.
            }
        } catch (IOException e) {
            // A broken pipe means the parent is gone: stop, as at end of input.
        }
    }
}
