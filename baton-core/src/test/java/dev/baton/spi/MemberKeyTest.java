package dev.baton.spi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Member keys sign and verify, and refuse the keys under which a signature can be forged. */
@Timeout(30)
class MemberKeyTest {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void aSignatureVerifiesUnderItsKeyAndNothingElse() {
        MemberKey key = MemberKey.generate();
        MemberKey other = MemberKey.generate();
        byte[] signature = key.sign(bytes("a"), bytes("b"));
        assertTrue(MemberKey.verifies(key.publicKey(), signature, bytes("a"), bytes("b")));
        assertTrue(MemberKey.verifies(key.publicKey(), signature, bytes("ab")), "the parts are one message");
        assertFalse(MemberKey.verifies(key.publicKey(), signature, bytes("a"), bytes("c")));
        assertFalse(MemberKey.verifies(other.publicKey(), signature, bytes("a"), bytes("b")));
        assertFalse(MemberKey.verifies(Arrays.copyOf(key.publicKey(), 31), signature, bytes("ab")));
        assertFalse(MemberKey.verifies(key.publicKey(), Arrays.copyOf(signature, 63), bytes("ab")));
        assertTrue(key.principal().getName().startsWith(MemberKey.PRINCIPAL_PREFIX));
        assertNotEquals(key.principal(), other.principal());
        assertEquals(key.principal(), MemberKey.principal(key.publicKey()));
        assertFalse(MemberKey.hasSmallOrder(key.publicKey()));
    }

    /**
     * Under the all-zero key (a point of order 4), the signature R = the neutral point, S = 0 holds for every message
     * whose hash is a multiple of 4: the JDK's verification accepts some of these 64 messages, and MemberKey none.
     */
    @Test
    void aKeyOfSmallOrderVerifiesNothingThoughTheJdkWouldAcceptForgeries() throws Exception {
        byte[] zeroKey = new byte[MemberKey.PUBLIC_KEY_LENGTH];
        byte[] forged = new byte[MemberKey.SIGNATURE_LENGTH];
        forged[0] = 1;                                  // R: y = 1, the neutral point; S: 0
        Signature jdk = Signature.getInstance("Ed25519");
        jdk.initVerify(KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(
                concat(HexFormat.of().parseHex("302a300506032b6570032100"), zeroKey))));
        int acceptedByTheJdk = 0;
        for (int i = 0; i < 64; i++) {
            byte[] message = bytes("message " + i);
            jdk.update(message);
            if (jdk.verify(forged)) {
                acceptedByTheJdk++;
            }
            assertFalse(MemberKey.verifies(zeroKey, forged, message), "message " + i);
        }
        assertTrue(acceptedByTheJdk > 0, "the forgery this guards against exists");
    }

    /** The points of order 1, 2, 4 and 8 (libsodium's list, RFC 8032's encodings), with either sign bit. */
    @Test
    void everySmallOrderPointIsRecognisedAndOrdinaryKeysAreNot() {
        String[] smallOrder = {
            "0000000000000000000000000000000000000000000000000000000000000000",     // order 4
            "0100000000000000000000000000000000000000000000000000000000000000",     // the neutral point
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",     // order 8
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",     // order 8
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",     // order 2
        };
        for (String hex : smallOrder) {
            byte[] key = HexFormat.of().parseHex(hex);
            assertTrue(MemberKey.hasSmallOrder(key), hex);
            key[31] ^= (byte) 0x80;
            assertTrue(MemberKey.hasSmallOrder(key), hex + " with the other sign");
        }
        for (int i = 0; i < 32; i++) {
            assertFalse(MemberKey.hasSmallOrder(MemberKey.generate().publicKey()));
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
