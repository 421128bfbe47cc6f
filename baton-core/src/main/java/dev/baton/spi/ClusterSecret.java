package dev.baton.spi;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * A secret every process of a cluster shares, for clusters without a PKI: each connection's handshake proves it,
 * both ways, by challenge and response, and never sends it (docs/security.md#cluster-secret,
 * docs/protocol.md#cluster-secret). Set it with {@code NodeOptions.Builder.clusterSecret} or
 * {@code clusterSecretFile} (and the same on {@code MasterOptions}); a transport gets it in
 * {@link TransportSettings#clusterSecret()}.
 *
 * <p>Only a key derived from the secret is kept (HMAC-SHA256 of a fixed label under the secret); the secret's bytes
 * are not. {@link #toString()} says nothing about either, and two instances are equal only when they are the same
 * object, so no comparison can leak the key either.
 *
 * <p><b>Rotation</b> (docs/security.md#rotating-the-secret). A secret proves with one key and accepts proofs made with
 * any of a few: {@link #alsoAccepting} adds the keys of another secret to those accepted, so a cluster can move from
 * one secret to the next without a moment when two of its processes refuse each other. {@link #fromFiles} makes a
 * secret that follows its files: the files are read again when they change, and new connections use what they hold.
 *
 * <p>Thread-safe. One made by {@link #of}, {@link #read} or {@link #alsoAccepting} is immutable; one made by
 * {@link #fromFiles} changes with its files, and {@link #current()} is what it stands for at one moment.
 *
 * <pre>{@code
 * // head -c 32 /dev/urandom | base64 > cluster.secret; chmod 600 cluster.secret
 * ClusterSecret secret = ClusterSecret.read(Path.of("cluster.secret"));
 * Node node = Node.join(NodeOptions.builder().master(master).clusterSecret(secret).build());
 * }</pre>
 */
public final class ClusterSecret {

    /** The fewest bytes a secret may have (after a file's trailing newline is cut). */
    public static final int MIN_LENGTH = 16;
    /** The most bytes a secret file may hold: it is read whole, once. */
    public static final int MAX_FILE_LENGTH = 64 * 1024;
    /** Bytes of a CHALLENGE's nonce. */
    public static final int NONCE_LENGTH = 32;
    /** Bytes of a PROOF: one HMAC-SHA256. */
    public static final int PROOF_LENGTH = 32;
    /** The most secrets one may accept, the one it proves included: {@link #alsoAccepting} refuses more. */
    public static final int MAX_ACCEPTED = 4;
    /**
     * How often, at most, a secret of {@link #fromFiles} looks at its files unless told otherwise: 10 s, as TLS
     * does ({@link dev.baton.TlsOptions#DEFAULT_RELOAD_INTERVAL}).
     */
    public static final Duration DEFAULT_RELOAD_INTERVAL = dev.baton.TlsOptions.DEFAULT_RELOAD_INTERVAL;

    private static final String MAC = "HmacSHA256";
    private static final byte[] KEY_LABEL = "baton/cluster-secret/v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PROOF_LABEL = "baton/proof/v1".getBytes(StandardCharsets.US_ASCII);
    private static final byte OPENED = 1;
    private static final byte ACCEPTED = 2;

    /** The key proofs are made with; null when this follows files. */
    private final SecretKeySpec key;
    /** The keys a peer's proof may be made with, {@link #key} first; null when this follows files. */
    private final SecretKeySpec[] accepted;
    /** The files this follows, or null. */
    private final SecretFiles files;

    private ClusterSecret(byte[] secret) {
        byte[] derived = hmac(new SecretKeySpec(secret, MAC), KEY_LABEL);
        this.key = new SecretKeySpec(derived, MAC);
        Arrays.fill(derived, (byte) 0);
        this.accepted = new SecretKeySpec[] {key};
        this.files = null;
    }

    private ClusterSecret(SecretKeySpec key, SecretKeySpec[] accepted) {
        this.key = key;
        this.accepted = accepted;
        this.files = null;
    }

    private ClusterSecret(SecretFiles files) {
        this.key = null;
        this.accepted = null;
        this.files = files;
    }

    /**
     * The secret {@code secret}: at least {@value #MIN_LENGTH} bytes, best random ones. The array is not kept (nor
     * changed); clear it when done.
     *
     * @throws IllegalArgumentException when it is shorter than {@value #MIN_LENGTH} bytes
     */
    public static ClusterSecret of(byte[] secret) {
        Objects.requireNonNull(secret, "clusterSecret");
        if (secret.length < MIN_LENGTH) {
            throw new IllegalArgumentException("clusterSecret must be at least " + MIN_LENGTH + " bytes, was "
                    + secret.length + " bytes");
        }
        return new ClusterSecret(secret);
    }

    /**
     * Reads the secret from {@code file}, once: its bytes without a trailing newline ({@code \n} or {@code \r\n}),
     * at least {@value #MIN_LENGTH} of them. As ssh does for keys, a file that its group or others may read or write
     * is refused (where the file system has POSIX permissions): {@code chmod 600 FILE}.
     *
     * @throws IllegalArgumentException naming the file and what is wrong: it cannot be read, it is not a regular
     *                                  file, it is readable by others, or it is too short or too long
     */
    public static ClusterSecret read(Path file) {
        Objects.requireNonNull(file, "clusterSecretFile");
        String what = "cluster secret file " + file;
        byte[] bytes;
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException(what + ": " + (Files.exists(file) ? "not a regular file"
                        : "no such file"));
            }
            checkOwnerOnly(file, what);
            if (Files.size(file) > MAX_FILE_LENGTH) {
                throw new IllegalArgumentException(what + ": larger than " + MAX_FILE_LENGTH + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException(what + ": cannot read it: " + e, e);
        }
        try {
            int n = bytes.length;
            if (n > 0 && bytes[n - 1] == '\n') {
                n--;
                if (n > 0 && bytes[n - 1] == '\r') {
                    n--;
                }
            }
            if (n < MIN_LENGTH) {
                throw new IllegalArgumentException(what + ": a secret must be at least " + MIN_LENGTH
                        + " bytes (without the trailing newline), it has " + n);
            }
            return new ClusterSecret(Arrays.copyOf(bytes, n));
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /**
     * A secret that proves with this one's key and accepts a proof made with any key this one or {@code other}
     * accepts: the step of a rotation in which a process takes part in both the old secret's cluster and the new
     * one's. {@code current.alsoAccepting(next)} still proves the current secret and lets in the processes that
     * already prove the next; {@code next.alsoAccepting(current)} proves the next and lets in those still on the
     * current one. A secret given twice counts once. Neither this one nor {@code other} changes.
     *
     * @throws IllegalArgumentException when more than {@value #MAX_ACCEPTED} secrets would be accepted, or when
     *                                  either follows files (give {@link #fromFiles} both files instead)
     */
    public ClusterSecret alsoAccepting(ClusterSecret other) {
        Objects.requireNonNull(other, "other");
        if (files != null || other.files != null) {
            throw new IllegalArgumentException("a cluster secret read from files follows them and cannot be combined;"
                    + " give ClusterSecret.fromFiles both files (or the options clusterSecretFile and"
                    + " acceptedClusterSecretFile)");
        }
        SecretKeySpec[] keys = Arrays.copyOf(accepted, accepted.length + other.accepted.length);
        int n = accepted.length;
        for (SecretKeySpec k : other.accepted) {
            if (!holds(keys, n, k)) {
                keys[n++] = k;
            }
        }
        if (n > MAX_ACCEPTED) {
            throw new IllegalArgumentException("a cluster secret accepts at most " + MAX_ACCEPTED + " secrets (the one"
                    + " it proves included), this would accept " + n);
        }
        return new ClusterSecret(key, Arrays.copyOf(keys, n));
    }

    /**
     * A secret read from {@code proveWith}, which it proves, also accepting the one in {@code alsoAccept} (null for
     * none), that follows its files: at most every {@code reloadInterval} (zero: at every connection), a new
     * connection's handshake compares their modification times and sizes with those it read, and when they changed,
     * and have stayed unchanged for a reload interval (so that two files written one after the other are taken
     * together), reads them again; connections made from then on prove and check the new secrets, and those already
     * open stay. Files that cannot be used then are logged once as a warning and the secrets in force stay, until the
     * files change again. Both files are read as {@link #read} reads one, and both now: a bad one fails at once.
     *
     * @throws IllegalArgumentException naming a file that cannot be used, as {@link #read} does, or a negative
     *                                  interval
     */
    public static ClusterSecret fromFiles(Path proveWith, Path alsoAccept, Duration reloadInterval) {
        Objects.requireNonNull(proveWith, "clusterSecretFile");
        if (reloadInterval == null || reloadInterval.isNegative()) {
            throw new IllegalArgumentException("reloadInterval must be zero or positive, was " + reloadInterval);
        }
        return new ClusterSecret(new SecretFiles(proveWith, alsoAccept, reloadInterval));
    }

    /**
     * What this secret stands for now: itself, unless it follows files ({@link #fromFiles}); then the secret last
     * read from them, once they were checked for a change (at most every reload interval). A connection's handshake
     * takes it once, at its start, and proves and checks with it throughout.
     */
    public ClusterSecret current() {
        return files == null ? this : files.current();
    }

    /** Reads {@code proveWith}, and {@code alsoAccept} if not null, into one fixed secret (for {@link SecretFiles}). */
    static ClusterSecret readFiles(Path proveWith, Path alsoAccept) {
        ClusterSecret secret = read(proveWith);
        return alsoAccept == null ? secret : secret.alsoAccepting(read(alsoAccept));
    }

    private static boolean holds(SecretKeySpec[] keys, int n, SecretKeySpec key) {
        byte[] k = key.getEncoded();
        boolean found = false;
        for (int i = 0; i < n; i++) {
            found |= MessageDigest.isEqual(keys[i].getEncoded(), k);
        }
        return found;
    }

    private static void checkOwnerOnly(Path file, String what) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) {
            return;     // no POSIX permissions here (Windows): nothing to check
        }
        Set<PosixFilePermission> open = EnumSet.copyOf(view.readAttributes().permissions());
        open.retainAll(EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE));
        if (!open.isEmpty()) {
            throw new IllegalArgumentException(what + ": its group or others may read or write it ("
                    + java.nio.file.attribute.PosixFilePermissions.toString(view.readAttributes().permissions())
                    + "); it must be readable by its owner only: chmod 600 " + file);
        }
    }

    /**
     * The proof of the secret a handshake's prover sends (docs/protocol.md#cluster-secret): HMAC-SHA256, under the
     * derived key, of a label, which side the prover is, both openings (preface and HELLO, as sent) and both nonces,
     * the prover's first. Binding the prover's side, its opening (with its node id) and the order of the nonces is what
     * keeps a proof from being reflected back to its maker or replayed on another connection.
     *
     * @param proverOpened    true when the prover opened the connection, false when it accepted it
     * @param proverOpening   the prover's preface and HELLO
     * @param verifierOpening the verifier's preface and HELLO
     * @param proverNonce     the nonce the prover sent in its CHALLENGE
     * @param verifierNonce   the nonce the verifier sent in its CHALLENGE, which this proof answers
     */
    public byte[] proof(boolean proverOpened, byte[] proverOpening, byte[] verifierOpening, byte[] proverNonce,
                        byte[] verifierNonce) {
        return proof(current().key, proverOpened, proverOpening, verifierOpening, proverNonce, verifierNonce);
    }

    private static byte[] proof(SecretKeySpec key, boolean proverOpened, byte[] proverOpening, byte[] verifierOpening,
                                byte[] proverNonce, byte[] verifierNonce) {
        try {
            Mac mac = Mac.getInstance(MAC);
            mac.init(key);
            mac.update(PROOF_LABEL);
            mac.update(proverOpened ? OPENED : ACCEPTED);
            mac.update(proverOpening);
            mac.update(verifierOpening);
            mac.update(proverNonce);
            mac.update(verifierNonce);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /**
     * True when {@code proof} is the {@link #proof} of these arguments under any secret this one accepts (with
     * {@link #alsoAccepting}, more than the one it proves). Every accepted key is tried, each compared in constant
     * time, whichever matched: the time taken tells nothing about which did.
     */
    public boolean verifies(byte[] proof, boolean proverOpened, byte[] proverOpening, byte[] verifierOpening,
                            byte[] proverNonce, byte[] verifierNonce) {
        boolean verified = false;
        for (SecretKeySpec k : current().accepted) {
            verified |= MessageDigest.isEqual(proof, proof(k, proverOpened, proverOpening, verifierOpening,
                    proverNonce, verifierNonce));
        }
        return verified;
    }

    private static byte[] hmac(SecretKeySpec key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(MAC);
            mac.init(key);
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** Says that this is a secret, and nothing about it. */
    @Override
    public String toString() {
        return "ClusterSecret[hidden]";
    }
}
