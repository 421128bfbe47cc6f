package dev.baton.tracker.internal;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * The proof of a lease that the holder sends with every call to its server (metadata {@value #METADATA_KEY}):
 * {@code leaseId.holderRank.serverId.endEpochMs.mac}, the MAC an HMAC-SHA256 of the rest under the secret the
 * server's guard registered with. A guard checks it without asking the tracker. Thread-safe.
 */
public final class LeaseToken {

    public static final String METADATA_KEY = "baton-lease";
    private static final String ALGORITHM = "HmacSHA256";

    /** A token's fields, as read (not yet checked). */
    public record Fields(long leaseId, int holderRank, int serverId, long endEpochMs, String body, byte[] mac) {
    }

    private LeaseToken() {
    }

    /** The token of a lease, signed with {@code secret} (empty when the server has no guard: unsigned). */
    static String sign(byte[] secret, long leaseId, int holderRank, int serverId, long endEpochMs) {
        String body = leaseId + "." + holderRank + "." + serverId + "." + endEpochMs;
        byte[] mac = secret.length == 0 ? new byte[0] : mac(secret, body);
        return body + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(mac);
    }

    /** Reads {@code token}; null if it is not one. */
    public static Fields parse(String token) {
        if (token == null) {
            return null;
        }
        String[] p = token.split("\\.", -1);
        if (p.length != 5) {
            return null;
        }
        try {
            return new Fields(Long.parseLong(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                    Long.parseLong(p[3]), token.substring(0, token.lastIndexOf('.')),
                    Base64.getUrlDecoder().decode(p[4]));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** True if {@code f} was signed with {@code secret} (compared in constant time). */
    public static boolean verify(byte[] secret, Fields f) {
        return MessageDigest.isEqual(mac(secret, f.body()), f.mac());
    }

    private static byte[] mac(byte[] secret, String body) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(secret, ALGORITHM));
            return mac.doFinal(body.getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
