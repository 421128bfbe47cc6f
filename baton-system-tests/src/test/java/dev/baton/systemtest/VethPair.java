package dev.baton.systemtest;

import dev.baton.testkit.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Two network namespaces joined by a veth pair: two hosts on one machine, whose link a test can cut and
 * restore. Each end gets an address of {@value #SUBNET}.0/24, which exists only inside these namespaces, so no
 * traffic ever leaves them. Needs root (the test skips otherwise, see {@link #create}).
 *
 * <pre>
 *   namespace a (e.g. baton-a-1234)             namespace b (e.g. baton-b-1234)
 *   +-----------------------------+             +-----------------------------+
 *   | lo    vetha-1234 10.231.0.1 |=== veth ====| vethb-1234 10.231.0.2    lo |
 *   +-----------------------------+             +-----------------------------+
 * </pre>
 *
 * Start a process inside a namespace with {@code ChildJvm.start(name, pair.execIn(pair.a()), ...)}.
 * {@link #close()} deletes both namespaces, which deletes the veth pair with them; close the processes
 * running inside first. Not thread-safe.
 */
final class VethPair implements AutoCloseable {

    static final String SUBNET = "10.231.0";
    private static final long COMMAND_TIMEOUT_SECONDS = 10;
    private static final Pattern OURS = Pattern.compile("baton-[ab]-([0-9]+)");

    private final String a;
    private final String b;
    private final String vethA;
    private final String vethB;
    private final List<String> created = new ArrayList<>();

    private VethPair(String tag) {
        this.a = "baton-a-" + tag;
        this.b = "baton-b-" + tag;
        // Interface names are limited to 15 characters.
        this.vethA = "vetha-" + tag;
        this.vethB = "vethb-" + tag;
    }

    /**
     * Creates the namespaces and the link, up. Throws {@link IllegalStateException} (with the command's
     * output) if a command fails; whatever was created by then is deleted again.
     */
    static VethPair create() {
        VethPair pair = new VethPair(thisJvmsTag());
        try {
            pair.setUp();
            return pair;
        } catch (RuntimeException e) {
            try {
                pair.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void setUp() {
        deleteStale();
        run("ip", "netns", "add", a);
        created.add(a);
        run("ip", "netns", "add", b);
        created.add(b);
        run("ip", "-n", a, "link", "add", vethA, "type", "veth", "peer", "name", vethB, "netns", b);
        run("ip", "-n", a, "addr", "add", hostA() + "/24", "dev", vethA);
        run("ip", "-n", b, "addr", "add", hostB() + "/24", "dev", vethB);
        for (String ns : List.of(a, b)) {
            run("ip", "-n", ns, "link", "set", "lo", "up");
        }
        run("ip", "-n", a, "link", "set", vethA, "up");
        run("ip", "-n", b, "link", "set", vethB, "up");
    }

    String a() {
        return a;
    }

    String b() {
        return b;
    }

    /** The address of namespace a's end. */
    String hostA() {
        return SUBNET + ".1";
    }

    /** The address of namespace b's end. */
    String hostB() {
        return SUBNET + ".2";
    }

    /** The command prefix that runs a command inside {@code namespace}: {@code ip netns exec namespace}. */
    List<String> execIn(String namespace) {
        return List.of("ip", "netns", "exec", namespace);
    }

    /** Cuts the link: b's end goes down, so a's end loses its carrier too. Packets already sent are lost. */
    void cut() {
        run("ip", "-n", b, "link", "set", vethB, "down");
    }

    /** Restores the link. */
    void restore() {
        run("ip", "-n", b, "link", "set", vethB, "up");
    }

    /** Deletes the namespaces of test JVMs that died without cleaning up (their pid is in the name). */
    private static void deleteStale() {
        for (String line : run("ip", "netns", "list").lines().toList()) {
            Matcher m = OURS.matcher(line.split(" ")[0]);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).isEmpty()) {
                run("ip", "netns", "delete", m.group());
            }
        }
    }

    /** Namespaces and links are named after this JVM's pid, so concurrent runs do not collide. */
    private static String thisJvmsTag() {
        return Long.toString(ProcessHandle.current().pid() % 100_000_000L);
    }

    /** The namespaces this JVM created that still exist (for a leak check); empty if {@code ip} cannot list them. */
    static List<String> leftBehind() {
        String suffix = "-" + thisJvmsTag();
        String list;
        try {
            list = run("ip", "netns", "list");
        } catch (RuntimeException e) {
            return List.of();
        }
        return list.lines().map(line -> line.split(" ")[0])
                .filter(ns -> ns.startsWith("baton-") && ns.endsWith(suffix)).toList();
    }

    /** Deletes both namespaces (and so the veth pair). Idempotent. */
    @Override
    public void close() {
        boolean interrupted = Thread.interrupted();   // a timed-out test's interrupt must not skip the cleanup
        RuntimeException first = null;
        for (String ns : created.reversed()) {
            try {
                run("ip", "netns", "delete", ns);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        created.clear();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (first != null) {
            throw first;
        }
    }

    /** Runs a command to completion; returns its output, or throws with it if the command failed. */
    static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String output;
            try (var in = p.getInputStream()) {
                output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed with " + p.exitValue() + ": "
                        + output.strip());
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", command), e);
        }
    }
}
