package dev.baton.pki;

/** The key algorithm of a certificate {@link CertificateAuthority} makes. */
public enum KeyKind {
    /** ECDSA on NIST P-256 (secp256r1), signed with SHA256withECDSA: small, fast, what Baton's tools make. */
    EC_P256,
    /** RSA with a 2048-bit modulus, signed with SHA256withRSA. */
    RSA_2048
}
