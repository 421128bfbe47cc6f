package dev.baton.process;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The child JVM of {@link ChildJvmTest}: prints {@code READY}, then obeys commands on stdin, one per line, and
 * exits at end of input. With the argument {@code stubborn} it ignores both end of input and SIGTERM (a shutdown
 * hook that never ends keeps the JVM from exiting), so only SIGKILL stops it.
 *
 * <pre>
 * echo TEXT      TEXT on stdout
 * err TEXT       TEXT on stderr
 * lines N        "line 1" .. "line N" on stdout
 * exit N         exits with N
 * spawn          starts a stubborn child JVM itself; prints "SPAWNED pid"
 * launch         starts a stubborn child JVM through ChildJvm (killed on exit); prints "LAUNCHED pid"
 * </pre>
 */
public final class TestChild {

    private TestChild() {
    }

    public static void main(String[] args) throws Exception {
        boolean stubborn = args.length > 0 && args[0].equals("stubborn");
        if (stubborn) {
            Runtime.getRuntime().addShutdownHook(new Thread(TestChild::parkForever));
        }
        System.out.println("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            int space = line.indexOf(' ');
            String command = space < 0 ? line : line.substring(0, space);
            String arg = space < 0 ? "" : line.substring(space + 1);
            switch (command) {
                case "echo" -> System.out.println(arg);
                case "err" -> System.err.println(arg);
                case "lines" -> {
                    for (int i = 1; i <= Integer.parseInt(arg); i++) {
                        System.out.println("line " + i);
                    }
                }
                case "exit" -> System.exit(Integer.parseInt(arg));
                case "spawn" -> System.out.println("SPAWNED " + new ProcessBuilder(List.of(
                        ProcessHandle.current().info().command().orElseThrow(), "-cp",
                        System.getProperty("java.class.path"), TestChild.class.getName(), "stubborn")).start().pid());
                case "launch" -> System.out.println("LAUNCHED " + ChildJvm.builder("grandchild", TestChild.class)
                        .args("stubborn").start().pid());
                default -> System.out.println("UNKNOWN " + line);
            }
            System.out.flush();
        }
        if (stubborn) {
            parkForever();
        }
    }

    private static void parkForever() {
        while (true) {
            LockSupport.park();
        }
    }
}
