package dev.baton.pki;

import java.security.KeyPair;
import java.security.cert.X509Certificate;

/**
 * A certificate {@link CertificateAuthority#issue} made, with its key pair. {@link #certificatePem()} and
 * {@link #privateKeyPem()} are what Baton's TLS reads ({@code TlsOptions.Builder.certificate(cert, key)},
 * {@code --tls-cert} and {@code --tls-key}). Immutable.
 *
 * @param name        the subject's common name ({@code CN=name})
 * @param keys        its key pair; the private key is the caller's to keep secret
 * @param certificate the certificate, signed by the issuing authority
 */
public record IssuedCertificate(String name, KeyPair keys, X509Certificate certificate) {

    /** The certificate as PEM ({@code BEGIN CERTIFICATE}). */
    public String certificatePem() {
        return Pem.certificate(certificate);
    }

    /** The private key as unencrypted PEM PKCS#8 ({@code BEGIN PRIVATE KEY}). */
    public String privateKeyPem() {
        return Pem.privateKey(keys.getPrivate());
    }
}
