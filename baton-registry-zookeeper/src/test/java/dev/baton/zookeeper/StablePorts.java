package dev.baton.zookeeper;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for test ZooKeeper servers that restart on the same port: free now, and below the kernel's ephemeral range,
 * so that no outgoing connection (ours or another process's) can be given one while its server is down. A server
 * that finds its quorum port taken at restart calls {@code System.exit}, which would end the whole test JVM; a port
 * picked with {@code new ServerSocket(0)} lies in the ephemeral range, where that happens on a busy machine.
 */
final class StablePorts {

    private static final int LOWEST = 20_000;
    private static final int ATTEMPTS = 1_000;

    private StablePorts() {
    }

    /** A port in [20000, the ephemeral range's start) that nothing listens on now, none of {@code taken}. */
    static int next(Set<Integer> taken) {
        int below = ephemeralStart();
        for (int i = 0; i < ATTEMPTS; i++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
            if (!taken.contains(port) && free(port)) {
                taken.add(port);
                return port;
            }
        }
        throw new IllegalStateException("no free port found below " + below + " in " + ATTEMPTS + " tries");
    }

    /** {@code count} distinct such ports. */
    static int[] next(int count) {
        Set<Integer> taken = new HashSet<>();
        int[] ports = new int[count];
        for (int i = 0; i < count; i++) {
            ports[i] = next(taken);
        }
        return ports;
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /** The first ephemeral port (Linux's ip_local_port_range; 32768, its default, elsewhere or when unreadable). */
    private static int ephemeralStart() {
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            int start = Integer.parseInt(range.split("\\s+")[0]);
            return start > LOWEST + 1_000 ? start : 32_768;
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
