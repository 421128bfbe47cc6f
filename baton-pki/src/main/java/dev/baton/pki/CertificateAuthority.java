package dev.baton.pki;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AccessDescription;
import org.bouncycastle.asn1.x509.AuthorityInformationAccess;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLDistPoint;
import org.bouncycastle.asn1.x509.DistributionPoint;
import org.bouncycastle.asn1.x509.DistributionPointName;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.BasicOCSPRespBuilder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPException;
import org.bouncycastle.cert.ocsp.OCSPReq;
import org.bouncycastle.cert.ocsp.OCSPRespBuilder;
import org.bouncycastle.cert.ocsp.Req;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.UnknownStatus;
import org.bouncycastle.cert.ocsp.jcajce.JcaBasicOCSPRespBuilder;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A certificate authority for Baton's TLS: a self-signed CA certificate ({@code CN=name}, an EC P-256 key) and
 * the certificates it issues, each for both TLS client and server authentication (Baton's TLS is mutual: every
 * side presents a certificate and checks the other's), naming the IP addresses and DNS names it is given as
 * subject alternative names (what {@code TlsOptions.Builder.peerName} checks).
 *
 * <pre>{@code
 * Instant from = Instant.now().minus(Duration.ofHours(1)), to = from.plus(Duration.ofDays(30));
 * CertificateAuthority ca = CertificateAuthority.create("dev-ca", from, to);
 * IssuedCertificate node = ca.issue("node-1", KeyKind.EC_P256, from, to, List.of("127.0.0.1", "localhost"));
 * Pem.writeOwnerOnly(dir.resolve("node-1.pem"), node.certificatePem());
 * }</pre>
 *
 * <p>For development and tests: the CA key lives in memory and, if written, in a file. Serial numbers are 127
 * random bits. Certificates are built with BouncyCastle and signed by the JDK's providers. Thread-safe: immutable.
 * Failures of the JDK's cryptography (an algorithm it lacks) are {@link IllegalStateException}s; a name that
 * cannot go into a certificate is an {@link IllegalArgumentException}.
 */
public final class CertificateAuthority {

    /** A DNS name as a subject alternative name may carry it: letters, digits, '-', '.', and '*' for wildcards. */
    private static final Pattern DNS_NAME = Pattern.compile("[A-Za-z0-9*]([A-Za-z0-9.*-]{0,251}[A-Za-z0-9])?");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String name;
    private final KeyPair keys;
    private final X509Certificate certificate;

    private CertificateAuthority(String name, KeyPair keys, X509Certificate certificate) {
        this.name = name;
        this.keys = keys;
        this.certificate = certificate;
    }

    /** A new CA, {@code CN=name}, with a fresh EC P-256 key, valid from {@code notBefore} to {@code notAfter}. */
    public static CertificateAuthority create(String name, Instant notBefore, Instant notAfter) {
        KeyPair keys = keyPair(KeyKind.EC_P256);
        X500Name subject = commonName(name);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = builder(subject, subject, keys.getPublic(), notBefore, notAfter)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new CertificateAuthority(name, keys, sign(b, keys));
        } catch (CertIOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make the CA certificate " + name, e);
        }
    }

    /** The CA's common name. */
    public String name() {
        return name;
    }

    /** The CA's key pair: whoever holds the private key can issue certificates every peer trusts. */
    public KeyPair keys() {
        return keys;
    }

    /** The self-signed CA certificate: what peers trust ({@code TlsOptions.Builder.trustedCertificates}). */
    public X509Certificate certificate() {
        return certificate;
    }

    /** The CA certificate as PEM. */
    public String certificatePem() {
        return Pem.certificate(certificate);
    }

    /** The CA's private key as unencrypted PEM PKCS#8. */
    public String privateKeyPem() {
        return Pem.privateKey(keys.getPrivate());
    }

    /** The CA's private key as encrypted PEM PKCS#8 under {@code password} (see {@link Pem#encryptedPrivateKey}). */
    public String privateKeyPem(char[] password) {
        return Pem.encryptedPrivateKey(keys.getPrivate(), password);
    }

    /**
     * A certificate for {@code CN=name} with a fresh {@code kind} key, signed by this CA, valid from {@code notBefore}
     * to {@code notAfter} (a past {@code notAfter} makes an expired certificate, for tests), for TLS client and
     * server authentication. Each of {@code alternativeNames} becomes an IP address subject alternative name when it
     * is an IP literal ("127.0.0.1", "::1"), else a DNS name; duplicates are dropped.
     *
     * @throws IllegalArgumentException when an alternative name is neither an IP literal nor a DNS name
     */
    public IssuedCertificate issue(String name, KeyKind kind, Instant notBefore, Instant notAfter,
                                   List<String> alternativeNames) {
        return issue(name, kind, notBefore, notAfter, alternativeNames, RevocationSources.NONE);
    }

    /**
     * As {@link #issue(String, KeyKind, Instant, Instant, List)}, the certificate also naming where its revocation
     * status is published: the CRL distribution points that serve this CA's list ({@link #revocationList}), for peers
     * that fetch it ({@code TlsOptions.Builder.fetchRevocationLists}), and the OCSP responders that answer for it
     * ({@link #ocspResponse}), for peers that ask ({@code TlsOptions.Builder.checkOcsp}).
     */
    public IssuedCertificate issue(String name, KeyKind kind, Instant notBefore, Instant notAfter,
                                   List<String> alternativeNames, RevocationSources sources) {
        DistributionPoint[] points = new DistributionPoint[sources.crlDistributionPoints().size()];
        for (int i = 0; i < points.length; i++) {
            points[i] = new DistributionPoint(new DistributionPointName(new GeneralNames(new GeneralName(
                    GeneralName.uniformResourceIdentifier, sources.crlDistributionPoints().get(i).toString()))),
                    null, null);
        }
        AccessDescription[] responders = new AccessDescription[sources.ocspResponders().size()];
        for (int i = 0; i < responders.length; i++) {
            responders[i] = new AccessDescription(AccessDescription.id_ad_ocsp, new GeneralName(
                    GeneralName.uniformResourceIdentifier, sources.ocspResponders().get(i).toString()));
        }
        GeneralNames sans = alternativeNames(alternativeNames);
        KeyPair leafKeys = keyPair(kind);
        int usage = kind == KeyKind.RSA_2048 ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment
                : KeyUsage.digitalSignature;
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = builder(X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                    commonName(name), leafKeys.getPublic(), notBefore, notAfter)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(usage))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(certificate))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
            if (sans.getNames().length > 0) {
                b.addExtension(Extension.subjectAlternativeName, false, sans);
            }
            if (points.length > 0) {
                b.addExtension(Extension.cRLDistributionPoints, false, new CRLDistPoint(points));
            }
            if (responders.length > 0) {
                b.addExtension(Extension.authorityInfoAccess, false, new AuthorityInformationAccess(responders));
            }
            return new IssuedCertificate(name, leafKeys, sign(b, keys));
        } catch (CertIOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make the certificate " + name + " of CA " + this.name, e);
        }
    }

    /**
     * A certificate revocation list signed by this CA, revoking each of {@code revoked} (issued by this CA) as of
     * {@code thisUpdate}, valid from {@code thisUpdate} to {@code nextUpdate} (a past {@code nextUpdate} makes an
     * expired list, for tests). What {@code TlsOptions.Builder.revocationList} reads, once written with
     * {@link Pem#revocationList}.
     */
    public X509CRL revocationList(List<X509Certificate> revoked, Instant thisUpdate, Instant nextUpdate) {
        Map<BigInteger, Instant> serials = new LinkedHashMap<>();
        for (X509Certificate c : revoked) {
            serials.put(c.getSerialNumber(), thisUpdate);
        }
        return revocationList(serials, thisUpdate, nextUpdate);
    }

    /**
     * A certificate revocation list signed by this CA, revoking the certificates of these serial numbers, each as
     * of its instant, valid from {@code thisUpdate} to {@code nextUpdate}. Its CRL number is {@code thisUpdate} in
     * milliseconds since the epoch, so a later list has a larger one.
     */
    public X509CRL revocationList(Map<BigInteger, Instant> revoked, Instant thisUpdate, Instant nextUpdate) {
        if (!nextUpdate.isAfter(thisUpdate)) {
            throw new IllegalArgumentException("a revocation list's nextUpdate (" + nextUpdate + ") must come after"
                    + " its thisUpdate (" + thisUpdate + ")");
        }
        try {
            X509v2CRLBuilder b = new X509v2CRLBuilder(
                    X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()), Date.from(thisUpdate));
            b.setNextUpdate(Date.from(nextUpdate));
            for (Map.Entry<BigInteger, Instant> e : revoked.entrySet()) {
                b.addCRLEntry(e.getKey(), Date.from(e.getValue()), CRLReason.unspecified);
            }
            b.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(thisUpdate.toEpochMilli())));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
            return new JcaX509CRLConverter().getCRL(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        } catch (CertIOException | GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make the revocation list of CA " + name, e);
        }
    }

    /**
     * This CA's OCSP response (RFC 6960, DER) to {@code request}, a DER OCSP request as a client POSTs it: for each
     * certificate asked about, revoked (as of its instant) when its serial number is in {@code revoked}, good when it
     * is not, unknown when this CA did not issue it; valid from {@code thisUpdate} to {@code nextUpdate}, signed by
     * this CA's key (no delegated responder), echoing the request's nonce. A request that does not parse gets the
     * {@code malformedRequest} response. What a development OCSP responder answers, for tests.
     */
    public byte[] ocspResponse(byte[] request, Map<BigInteger, Instant> revoked, Instant thisUpdate,
                               Instant nextUpdate) {
        try {
            OCSPReq req;
            try {
                req = new OCSPReq(request);
            } catch (java.io.IOException | RuntimeException e) {
                return new OCSPRespBuilder().build(OCSPRespBuilder.MALFORMED_REQUEST, null).getEncoded();
            }
            DigestCalculatorProvider digests = new JcaDigestCalculatorProviderBuilder().build();
            X509CertificateHolder issuer = new JcaX509CertificateHolder(certificate);
            BasicOCSPRespBuilder b = new JcaBasicOCSPRespBuilder(keys.getPublic(),
                    digests.get(CertificateID.HASH_SHA1));
            for (Req one : req.getRequestList()) {
                CertificateID id = one.getCertID();
                CertificateStatus status;
                if (!id.matchesIssuer(issuer, digests)) {
                    status = new UnknownStatus();
                } else if (revoked.containsKey(id.getSerialNumber())) {
                    status = new RevokedStatus(Date.from(revoked.get(id.getSerialNumber())), CRLReason.unspecified);
                } else {
                    status = CertificateStatus.GOOD;
                }
                b.addResponse(id, status, Date.from(thisUpdate), Date.from(nextUpdate));
            }
            Extension nonce = req.getExtension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce);
            if (nonce != null) {
                b.setResponseExtensions(new Extensions(nonce));
            }
            BasicOCSPResp basic = b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()),
                    null, Date.from(thisUpdate));
            return new OCSPRespBuilder().build(OCSPRespBuilder.SUCCESSFUL, basic).getEncoded();
        } catch (OCSPException | OperatorCreationException | GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot make an OCSP response of CA " + name, e);
        }
    }

    /**
     * The CA of a PEM certificate and its PEM PKCS#8 EC private key, as {@link #certificatePem} and
     * {@link #privateKeyPem} wrote them: to issue more certificates or revocation lists later.
     *
     * @throws IllegalArgumentException when the text holds no certificate or key, or the key is not the
     *                                  certificate's
     */
    public static CertificateAuthority fromPem(String certificatePem, String privateKeyPem) {
        return fromPem(certificatePem, privateKeyPem, null);
    }

    /**
     * As {@link #fromPem(String, String)}, the key encrypted under {@code password} when it is an
     * {@code ENCRYPTED PRIVATE KEY} ({@link #privateKeyPem(char[])}).
     *
     * @throws IllegalArgumentException also when the key is encrypted and {@code password} is null or wrong
     */
    public static CertificateAuthority fromPem(String certificatePem, String privateKeyPem, char[] password) {
        try {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Pem.decode(certificatePem, "CERTIFICATE")));
            PrivateKey key = Pem.isEncryptedPrivateKey(privateKeyPem)
                    ? Pem.decryptPrivateKey(privateKeyPem, password)
                    : KeyFactory.getInstance("EC").generatePrivate(
                            new PKCS8EncodedKeySpec(Pem.decode(privateKeyPem, "PRIVATE KEY")));
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(new byte[] {1});
            byte[] proof = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(new byte[] {1});
            if (!s.verify(proof)) {
                throw new IllegalArgumentException("the CA key is not the key of the CA certificate "
                        + cert.getSubjectX500Principal().getName());
            }
            String cn = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN)[0]
                    .getFirst().getValue().toString();
            return new CertificateAuthority(cn, new KeyPair(cert.getPublicKey(), key), cert);
        } catch (GeneralSecurityException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("not a CA certificate and its EC key: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code name} can be a subject alternative name of {@link #issue}: an IP literal or a DNS name.
     *
     * @throws IllegalArgumentException saying why it cannot
     */
    public static void checkAlternativeName(String name) {
        alternativeName(name);
    }

    /** {@code name} as an IP address or DNS general name; {@link IllegalArgumentException} when it is neither. */
    static GeneralName alternativeName(String name) {
        try {
            InetAddress ip = InetAddress.ofLiteral(name);
            return new GeneralName(GeneralName.iPAddress, ip.getHostAddress().replaceFirst("%.*$", ""));
        } catch (IllegalArgumentException notAnIp) {
            if (!DNS_NAME.matcher(name).matches() || name.contains("..")) {
                throw new IllegalArgumentException("'" + name + "' is neither an IP address nor a DNS name"
                        + " (letters, digits, '-' and '.')");
            }
            return new GeneralName(GeneralName.dNSName, name);
        }
    }

    private static GeneralNames alternativeNames(List<String> names) {
        LinkedHashSet<String> unique = new LinkedHashSet<>(names);
        return new GeneralNames(unique.stream().map(CertificateAuthority::alternativeName).toArray(GeneralName[]::new));
    }

    private static X500Name commonName(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a certificate's common name must not be empty");
        }
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, name).build();
    }

    private static KeyPair keyPair(KeyKind kind) {
        try {
            if (kind == KeyKind.RSA_2048) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
                g.initialize(2048);
                return g.generateKeyPair();
            }
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK cannot make a " + kind + " key pair", e);
        }
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, PublicKey key,
                                                    Instant notBefore, Instant notAfter) {
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("a certificate's notAfter (" + notAfter + ") must come after its"
                    + " notBefore (" + notBefore + ")");
        }
        return new JcaX509v3CertificateBuilder(issuer, new BigInteger(127, RANDOM).setBit(0), Date.from(notBefore),
                Date.from(notAfter), subject, key);
    }

    /** Signed with this CA's EC key (the signer's algorithm follows its key: CAs here are always EC). */
    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }
}
