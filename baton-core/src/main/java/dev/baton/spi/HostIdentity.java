package dev.baton.spi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's host identity, as every node advertises it in {@link dev.baton.NodeInfo#hostId()}: two processes
 * with the same identity see the same {@code /dev/shm}, so a transport may connect them through shared memory.
 *
 * <p>On Linux it is the kernel's boot id (a new one at every boot, different on every machine) and the inode of
 * the process's mount namespace (containers on one machine differ unless they share it):
 * {@code 3ffc6964-6a65-4067-af69-81e05b6d6621/mnt:[4026531832]}. Elsewhere, or when {@code /proc} cannot be read,
 * it is empty: unknown, and never the same host as anyone.
 */
public final class HostIdentity {

    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static final Path MOUNT_NAMESPACE = Path.of("/proc/self/ns/mnt");
    private static final String CURRENT = read();

    private HostIdentity() {
    }

    /** This process's host identity; empty when unknown. */
    public static String current() {
        return CURRENT;
    }

    private static String read() {
        try {
            String boot = Files.readString(BOOT_ID).strip();
            String mnt = Files.readSymbolicLink(MOUNT_NAMESPACE).toString();
            return boot.isEmpty() || mnt.isEmpty() ? "" : boot + "/" + mnt;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return "";
        }
    }
}
