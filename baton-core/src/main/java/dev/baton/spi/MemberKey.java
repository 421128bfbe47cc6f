package dev.baton.spi;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.KeyAgreement;

/**
 * A node's own Ed25519 key pair for the cluster-secret handshake, made fresh for each node (never written
 * anywhere). With a cluster secret alone every member proves the same thing; a side that also has a member key signs
 * each handshake with it, and the master records the key a node joined with as the node's principal
 * ({@code NodeInfo.principal}: {@value #PRINCIPAL_PREFIX} and the public key in base64url). A member can then not
 * claim another member's rank: the other nodes check that a connection proved the key that rank joined with
 * (docs/protocol.md#member-keys, docs/security.md#proved-members).
 *
 * <p>{@link TransportFactory#withClusterSecret} makes one for each node it is applied to, shared by every transport
 * of that node (its data connections, its control connection, shared memory), so all of them prove the same key.
 */
public final class MemberKey {

    /** An Ed25519 public key, raw (RFC 8032): what the wire carries. */
    public static final int PUBLIC_KEY_LENGTH = 32;
    /** An Ed25519 signature. */
    public static final int SIGNATURE_LENGTH = 64;
    /** How a key principal's name starts. */
    public static final String PRINCIPAL_PREFIX = "ed25519:";

    private static final String ALGORITHM = "Ed25519";
    /** 2^255 - 19, the field of Curve25519. */
    private static final BigInteger FIELD = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));
    /** The DER SubjectPublicKeyInfo of an Ed25519 key, up to the raw key (RFC 8410). */
    private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    private final PrivateKey privateKey;
    private final byte[] publicKey;

    private MemberKey(KeyPair pair) {
        this.privateKey = pair.getPrivate();
        byte[] spki = pair.getPublic().getEncoded();
        this.publicKey = Arrays.copyOfRange(spki, spki.length - PUBLIC_KEY_LENGTH, spki.length);
    }

    /** A new key pair. */
    public static MemberKey generate() {
        try {
            return new MemberKey(KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is not available", e);
        }
    }

    /** The raw public key ({@value #PUBLIC_KEY_LENGTH} bytes), a copy. */
    public byte[] publicKey() {
        return publicKey.clone();
    }

    /** This key's principal, as its peers and the master see it. */
    public KeyPrincipal principal() {
        return principal(publicKey);
    }

    /** The signature of {@code parts}, in order. */
    public byte[] sign(byte[]... parts) {
        try {
            Signature s = Signature.getInstance(ALGORITHM);
            s.initSign(privateKey);
            for (byte[] p : parts) {
                s.update(p);
            }
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    /**
     * True when {@code signature} is the signature of {@code parts} under the raw public key {@code publicKey}; false
     * for anything else: malformed keys and signatures, and keys of small order (see {@link #hasSmallOrder}).
     */
    public static boolean verifies(byte[] publicKey, byte[] signature, byte[]... parts) {
        if (publicKey.length != PUBLIC_KEY_LENGTH || signature.length != SIGNATURE_LENGTH || hasSmallOrder(publicKey)) {
            return false;
        }
        try {
            byte[] spki = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + PUBLIC_KEY_LENGTH);
            System.arraycopy(publicKey, 0, spki, SPKI_PREFIX.length, PUBLIC_KEY_LENGTH);
            PublicKey key = KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(spki));
            Signature s = Signature.getInstance(ALGORITHM);
            s.initVerify(key);
            for (byte[] p : parts) {
                s.update(p);
            }
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * True when the raw public key {@code publicKey} is a point of order 1, 2, 4 or 8 (or encodes none the check can
     * use). The JDK verifies as RFC 8032 says, and RFC 8032 does not refuse such keys; but under one, a signature
     * with S = 0 and R a small-order point holds for one message in a few, so anyone could "prove" it. Fuzzing found
     * this (docs/security.md, "Findings fixed"). The check maps the key's y to the Montgomery u = (1 + y) / (1 - y)
     * and lets the JDK's X25519 multiply it by a clamped scalar (a multiple of 8): that gives zero, which the JDK
     * refuses, exactly for the small-order points.
     */
    static boolean hasSmallOrder(byte[] publicKey) {
        byte[] bigEndian = new byte[PUBLIC_KEY_LENGTH];
        for (int i = 0; i < PUBLIC_KEY_LENGTH; i++) {
            bigEndian[i] = publicKey[PUBLIC_KEY_LENGTH - 1 - i];
        }
        bigEndian[0] &= 0x7f;                   // the top bit is x's sign, not part of y
        BigInteger y = new BigInteger(1, bigEndian).mod(FIELD);
        BigInteger oneMinusY = BigInteger.ONE.subtract(y).mod(FIELD);
        if (oneMinusY.signum() == 0) {
            return true;                        // y = 1: the neutral point
        }
        BigInteger u = BigInteger.ONE.add(y).multiply(oneMinusY.modInverse(FIELD)).mod(FIELD);
        try {
            KeyAgreement x25519 = KeyAgreement.getInstance("X25519");
            x25519.init(X25519Scalar.KEY);
            x25519.doPhase(KeyFactory.getInstance("X25519")
                    .generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, u)), true);
            x25519.generateSecret();
            return false;
        } catch (GeneralSecurityException | IllegalStateException smallOrder) {
            return true;                        // "Point has small order", or nothing the check can use
        }
    }

    /** The principal of the raw public key {@code publicKey}. */
    public static KeyPrincipal principal(byte[] publicKey) {
        return new KeyPrincipal(PRINCIPAL_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(publicKey));
    }

    /** Says which key, never the private half. */
    @Override
    public String toString() {
        return "MemberKey[" + principal().getName() + "]";
    }

    /** The X25519 key {@link #hasSmallOrder} multiplies with, made on first use. */
    private static final class X25519Scalar {
        static final PrivateKey KEY;

        static {
            try {
                KEY = KeyPairGenerator.getInstance("X25519").generateKeyPair().getPrivate();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("X25519 is not available", e);
            }
        }

        private X25519Scalar() {
        }
    }

    /**
     * A peer that proved, in its handshake, that it holds the member key named {@link #getName()}
     * ({@value #PRINCIPAL_PREFIX} and the public key in base64url).
     */
    public record KeyPrincipal(String name) implements java.security.Principal {
        @Override
        public String getName() {
            return name;
        }
    }
}
