package dev.baton.isolation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A handler that does what its request says, well or badly: {@code echo:TEXT}, {@code sleepecho:MS:TEXT},
 * {@code loop}, {@code sleep}, {@code exit:N}, {@code halt:N}, {@code oom}, {@code soe}, {@code throw},
 * {@code kill9}, {@code segv} (writes to address 0), {@code big:N} (N zero bytes), {@code error} (an AssertionError),
 * {@code whoami} (the method, metadata "k" and whether the time left is sane), {@code grandchild} (starts {@code sh} ignoring SIGTERM, then sleeps), {@code pid}. Any other
 * request is echoed as is (binary payloads).
 */
public class Misbehave implements IsolatedHandler {

    private static volatile long sink;

    /** Made by each worker, by reflection. */
    public Misbehave() {
    }

    @Override
    @SuppressWarnings("restricted")     // segv: a deliberate write to a bad address
    public ByteBuffer handle(IsolatedCall call) throws Exception {
        ByteBuffer request = call.request();
        if (request.remaining() > 64) {
            return request;     // a large payload: echoed
        }
        String text = StandardCharsets.UTF_8.decode(request.duplicate()).toString();
        String[] parts = text.split(":", 3);
        switch (parts[0]) {
            case "echo" -> {
                return request;
            }
            case "sleepecho" -> {
                Thread.sleep(Long.parseLong(parts[1]));
                return ByteBuffer.wrap(parts[2].getBytes(StandardCharsets.UTF_8));
            }
            case "loop" -> {
                while (true) {
                    sink++;
                }
            }
            case "sleep" -> Thread.sleep(600_000);
            case "exit" -> System.exit(Integer.parseInt(parts[1]));
            case "halt" -> Runtime.getRuntime().halt(Integer.parseInt(parts[1]));
            case "oom" -> {
                List<long[]> hog = new ArrayList<>();
                while (true) {
                    hog.add(new long[1 << 17]);
                }
            }
            case "soe" -> {
                return ByteBuffer.allocate(recurse(0));
            }
            case "throw" -> throw new IllegalStateException("bad input " + parts[1]);
            case "kill9" -> {
                new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
                Thread.sleep(600_000);
            }
            case "grandchild" -> {
                Process p = new ProcessBuilder("sh", "-c", "trap '' TERM; sleep 600").start();
                System.out.println("GRANDCHILD " + p.pid());
                Thread.sleep(600_000);
            }
            case "segv" -> {
                // SIGSEGV in the JVM (a restricted method: the workers run with --enable-native-access): the JVM's
                // fatal error handler writes its report, then abort()s.
                java.lang.foreign.MemorySegment.ofAddress(8).reinterpret(8)
                        .set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 42L);
                return null;
            }
            case "big" -> {
                return ByteBuffer.allocate(Integer.parseInt(parts[1]));
            }
            case "error" -> throw new AssertionError("boom");
            case "whoami" -> {
                long left = call.timeLeft().toMillis();
                String k = call.metadata().get("k");
                return ByteBuffer.wrap((call.method() + " " + k + " " + (left > 0 && left <= 20_000))
                        .getBytes(StandardCharsets.UTF_8));
            }
            case "pid" -> {
                return ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8));
            }
            default -> {
                return request;
            }
        }
        return null;
    }

    private static int recurse(int depth) {
        return recurse(depth + 1) + 1;
    }
}
