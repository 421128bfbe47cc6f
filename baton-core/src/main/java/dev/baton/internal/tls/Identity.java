package dev.baton.internal.tls;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.EncryptedPrivateKeyInfo;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * This side's private key and certificate chain, and the key manager that presents them: always this one
 * identity, whatever issuers the peer says it accepts (the JDK's own key manager would then send none, and the
 * peer would report a missing certificate instead of an untrusted one).
 */
final class Identity extends X509ExtendedKeyManager {

    private static final String ALIAS = "baton";

    private final PrivateKey key;
    private final X509Certificate[] chain;

    private Identity(PrivateKey key, X509Certificate[] chain) {
        this.key = key;
        this.chain = chain;
    }

    X509Certificate leaf() {
        return chain[0];
    }

    PrivateKey key() {
        return key;
    }

    X509Certificate[] chain() {
        return chain.clone();
    }

    /** From a PEM chain (leaf first) and a PEM PKCS#8 key, encrypted under {@code password} when that is not null. */
    static Identity fromPem(Path chainFile, Path keyFile, char[] password) throws IOException, GeneralSecurityException {
        List<X509Certificate> chain = Pem.certificates(chainFile);
        List<Pem.Block> blocks = Pem.read(keyFile);
        if (blocks.size() != 1) {
            throw new IOException(keyFile + " must hold exactly one PEM private key, holds " + blocks.size()
                    + " PEM blocks");
        }
        Pem.Block block = blocks.get(0);
        byte[] pkcs8 = block.der();
        switch (block.type()) {
            case "PRIVATE KEY" -> { }
            case "ENCRYPTED PRIVATE KEY" -> {
                if (password == null) {
                    throw new IOException(keyFile + " is encrypted: give its password (TlsOptions.Builder.certificate"
                            + "(chain, key, password), or --tls-key-password-file)");
                }
                pkcs8 = decrypt(block.der(), password, keyFile);
            }
            case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new IOException(keyFile + " is a '" + block.type()
                    + "' (PKCS#1/SEC1) key; Baton reads PKCS#8 'PRIVATE KEY': convert it with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in " + keyFile + "'");
            default -> throw new IOException(keyFile + " holds a '" + block.type() + "', not a PKCS#8 'PRIVATE KEY'");
        }
        String algorithm = algorithmOf(chain.get(0), chainFile);
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + " is not a PKCS#8 " + algorithm + " key (the certificate's algorithm): "
                    + e.getMessage(), e);
        } finally {
            Arrays.fill(block.der(), (byte) 0);
            Arrays.fill(pkcs8, (byte) 0);
        }
        return checked(key, chain.toArray(X509Certificate[]::new), keyFile);
    }

    /**
     * The PKCS#8 key inside an EncryptedPrivateKeyInfo. For PBES2 the JDK names the scheme by its parameters
     * ("PBEWithHmacSHA256AndAES_256"), for the older PBES1 schemes by the algorithm itself.
     */
    private static byte[] decrypt(byte[] der, char[] password, Path keyFile) throws IOException {
        try {
            EncryptedPrivateKeyInfo info;
            try {
                info = new EncryptedPrivateKeyInfo(der);
            } catch (IOException e) {
                throw new IOException(keyFile + ": not a valid encrypted PKCS#8 key: " + e.getMessage(), e);
            }
            AlgorithmParameters params = info.getAlgParameters();
            String scheme = params != null && info.getAlgName().equals("PBES2") ? params.toString() : info.getAlgName();
            PBEKeySpec spec = new PBEKeySpec(password);
            Cipher cipher = Cipher.getInstance(scheme);
            try {
                cipher.init(Cipher.DECRYPT_MODE, SecretKeyFactory.getInstance(scheme).generateSecret(spec), params);
            } finally {
                spec.clearPassword();
            }
            return info.getKeySpec(cipher).getEncoded();
        } catch (InvalidKeySpecException e) {
            throw new IOException(keyFile + ": wrong password for the encrypted key (or the file is damaged)", e);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException(keyFile + ": cannot decrypt the key: " + e.getMessage(), e);
        }
    }

    /** From the one key entry of a PKCS#12 store. */
    static Identity fromPkcs12(Path store, char[] password) throws IOException, GeneralSecurityException {
        KeyStore ks = Stores.pkcs12(store, password);
        String alias = null;
        for (String a : Collections.list(ks.aliases())) {
            if (ks.isKeyEntry(a)) {
                if (alias != null) {
                    throw new IOException(store + " holds more than one key entry ('" + alias + "', '" + a
                            + "'); Baton uses a store with exactly one");
                }
                alias = a;
            }
        }
        if (alias == null) {
            throw new IOException(store + " holds no private key entry");
        }
        Certificate[] certs = ks.getCertificateChain(alias);
        if (!(ks.getKey(alias, password) instanceof PrivateKey key) || certs == null || certs.length == 0) {
            throw new IOException(store + ": entry '" + alias + "' has no private key with a certificate chain");
        }
        X509Certificate[] chain = Arrays.copyOf(certs, certs.length, X509Certificate[].class);
        algorithmOf(chain[0], store);
        return checked(key, chain, store);
    }

    private static String algorithmOf(X509Certificate leaf, Path file) throws IOException {
        String algorithm = leaf.getPublicKey().getAlgorithm();
        if (!algorithm.equals("EC") && !algorithm.equals("RSA")) {
            throw new IOException(file + ": the certificate's key is " + algorithm + "; Baton takes EC and RSA keys");
        }
        return algorithm;
    }

    /** Refuses a key that does not belong to the leaf certificate: it signs, the certificate's key verifies. */
    private static Identity checked(PrivateKey key, X509Certificate[] chain, Path file)
            throws IOException, GeneralSecurityException {
        String scheme = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        byte[] probe = "baton key check".getBytes(StandardCharsets.US_ASCII);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(scheme);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(scheme);
            verifier.initVerify(chain[0].getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IOException(file + ": the private key does not match the certificate "
                    + chain[0].getSubjectX500Principal().getName());
        }
        return new Identity(key, chain);
    }

    private boolean fits(String keyType) {
        String algorithm = key.getAlgorithm();
        return keyType == null || keyType.equals(algorithm) || (algorithm.equals("RSA") && keyType.equals("RSASSA-PSS"))
                || (algorithm.equals("EC") && keyType.startsWith("EC"));
    }

    private String aliasFor(String... keyTypes) {
        for (String t : keyTypes) {
            if (fits(t)) {
                return ALIAS;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ X509ExtendedKeyManager

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }

    /** PKCS#12 stores, read with a size bound. */
    static final class Stores {
        private Stores() {
        }

        static KeyStore pkcs12(Path file, char[] password) throws IOException, GeneralSecurityException {
            long size = Files.size(file);
            if (size > Pem.MAX_FILE_BYTES) {
                throw new IOException(file + " is " + size + " bytes, larger than any PKCS#12 store of keys");
            }
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(file)) {
                ks.load(in, password);
            } catch (IOException e) {
                throw new IOException(file + ": cannot open the PKCS#12 store (wrong password, or not PKCS#12): "
                        + e.getMessage(), e);
            }
            return ks;
        }
    }
}
