package dev.baton.cli;

import dev.baton.pki.CertificateAuthority;
import dev.baton.pki.IssuedCertificate;
import dev.baton.pki.KeyKind;
import dev.baton.pki.Pem;
import dev.baton.pki.RevocationSources;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A development PKI in a directory, as {@code baton certs} and {@code baton demo --tls} make it: {@code ca.pem} and
 * {@code ca-key.pem}, then {@code NAME.pem} and {@code NAME-key.pem} for each name (EC P-256, for TLS client and
 * server authentication, naming NAME, localhost, 127.0.0.1 and ::1), and {@code README.txt}, which says they are for
 * development only. Every file is created owner-only (0600) before a byte is written; a directory this creates is
 * 0700. Certificates come from baton-pki's {@link CertificateAuthority}, the generator the tests' TestPki uses too.
 */
final class DevPki {

    static final String CA_CERT = "ca.pem";
    static final String CA_KEY = "ca-key.pem";
    static final String README = "README.txt";
    static final String CRL = "crl.pem";
    /** What a certificate's name may be: it becomes a file name, a common name and a DNS subject alternative name. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?");
    /** Names every certificate carries besides its own, so that a peer-name check against this host passes. */
    static final List<String> LOCAL_NAMES = List.of("localhost", "127.0.0.1", "::1");

    private DevPki() {
    }

    static Path cert(Path dir, String name) {
        return dir.resolve(name + ".pem");
    }

    static Path key(Path dir, String name) {
        return dir.resolve(name + "-key.pem");
    }

    /** Null when {@code name} can be a certificate's name here, else why not. */
    static String checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            return "'" + name + "' is not a certificate name here: 1 to 63 letters, digits, '-' and '.', starting"
                    + " and ending with a letter or digit";
        }
        if (name.equals("ca") || name.endsWith("-key")) {
            return "'" + name + "' would collide with the CA's or another certificate's files";
        }
        return null;
    }

    /** Null when each of {@code names} can be a subject alternative name (an IP literal or a DNS name), else why not. */
    static String checkAlternativeNames(List<String> names) {
        for (String name : names) {
            try {
                CertificateAuthority.checkAlternativeName(name);
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
        }
        return null;
    }

    /** Null when each of {@code names} can be a certificate's name here and none comes twice, else why not. */
    static String checkNames(List<String> names) {
        HashSet<String> seen = new HashSet<>();
        for (String n : names) {
            String problem = checkName(n);
            if (problem != null) {
                return problem;
            }
            if (!seen.add(n)) {
                return "'" + n + "' is named twice";
            }
        }
        return null;
    }

    /** Every file {@link #write} writes for {@code names}, in the order it writes them. */
    static List<Path> files(Path dir, List<String> names) {
        List<Path> files = new ArrayList<>(List.of(dir.resolve(CA_CERT), dir.resolve(CA_KEY)));
        files.addAll(certificateFiles(dir, names));
        files.add(dir.resolve(README));
        return files;
    }

    /** The certificate and key files of {@code names}. */
    private static List<Path> certificateFiles(Path dir, List<String> names) {
        List<Path> files = new ArrayList<>();
        for (String n : names) {
            files.add(cert(dir, n));
            files.add(key(dir, n));
        }
        return files;
    }

    /** A {@link CliException} naming those of {@code files} that exist, unless {@code overwrite}. */
    private static void refuseToOverwrite(Path dir, List<Path> files, boolean overwrite) {
        List<String> existing = files.stream().filter(Files::exists).map(p -> p.getFileName().toString()).toList();
        if (!existing.isEmpty() && !overwrite) {
            throw new CliException(dir + " already holds " + String.join(", ", existing)
                    + ": not overwriting them (--force replaces them)");
        }
    }

    /**
     * Makes the CA and a certificate for each of {@code names} (checked with {@link #checkName}), valid from an hour
     * ago (clock skew) for {@code validity}, also naming {@code extraNames} (IP addresses or DNS names), and writes
     * them to {@code dir}, creating it (0700) if needed. Files already there are a {@link CliException} unless
     * {@code overwrite}; then each is replaced by an atomic move once every new file is written.
     */
    static void write(Path dir, List<String> names, Duration validity, List<String> extraNames, boolean overwrite)
            throws IOException {
        write(dir, names, validity, extraNames, overwrite, null, RevocationSources.NONE);
    }

    /**
     * As the other, the CA key encrypted under {@code caKeyPassword} unless it is null, and the certificates naming
     * where their revocation status is published ({@code revocation}: {@code --crl-url}, {@code --ocsp-url}).
     */
    static void write(Path dir, List<String> names, Duration validity, List<String> extraNames, boolean overwrite,
                      char[] caKeyPassword, RevocationSources revocation) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CliException(dir + " exists and is not a directory");
        }
        refuseToOverwrite(dir, files(dir, names), overwrite);
        Map<Path, String> contents = generate(dir, names, validity, extraNames, caKeyPassword, revocation);
        if (!Files.isDirectory(dir)) {
            if (dir.toAbsolutePath().getParent() != null) {
                Files.createDirectories(dir.toAbsolutePath().getParent());
            }
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        stage(dir, contents);
    }

    /** Writes every file of {@code contents} owner-only beside its place, then moves each over its place. */
    private static void stage(Path dir, Map<Path, String> contents) throws IOException {
        Map<Path, Path> staged = new LinkedHashMap<>();
        try {
            for (Map.Entry<Path, String> e : contents.entrySet()) {
                Path temp = e.getKey().resolveSibling("." + e.getKey().getFileName() + ".new");
                Files.deleteIfExists(temp);
                Pem.writeOwnerOnly(temp, e.getValue());
                staged.put(temp, e.getKey());
            }
            for (Map.Entry<Path, Path> e : staged.entrySet()) {
                Files.move(e.getKey(), e.getValue(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (UnsupportedOperationException e) {
            throw new CliException("the file system of " + dir + " has no POSIX permissions: cannot make owner-only"
                    + " key files there", e);
        } finally {
            for (Path temp : staged.keySet()) {
                Files.deleteIfExists(temp);
            }
        }
    }

    /** What {@link #issue} wrote: the files, and until when the certificates are valid. */
    record Issued(List<Path> files, Instant notAfter, boolean cutToTheCa) {
    }

    /**
     * Issues a certificate for each of {@code names} from {@code dir}'s CA, as {@link #write} does for its own
     * (valid from an hour ago for {@code validity}, but never past the CA's own end), leaving the CA and the other
     * certificates as they are: a node added to a cluster of this PKI. Files already there are a
     * {@link CliException} unless {@code overwrite}.
     */
    static Issued issue(Path dir, List<String> names, Duration validity, List<String> extraNames, boolean overwrite,
                        char[] caKeyPassword, RevocationSources revocation) throws IOException {
        CertificateAuthority ca = loadCa(dir, caKeyPassword);
        refuseToOverwrite(dir, certificateFiles(dir, names), overwrite);
        Instant from = Instant.now().minus(Duration.ofHours(1));
        Instant wanted = from.plus(Duration.ofHours(1)).plus(validity);
        Instant caEnd = ca.certificate().getNotAfter().toInstant();
        boolean cut = wanted.isAfter(caEnd);
        Instant to = cut ? caEnd : wanted;
        Map<Path, String> contents = new LinkedHashMap<>();
        issueInto(contents, ca, dir, names, from, to, extraNames, revocation);
        stage(dir, contents);
        return new Issued(List.copyOf(contents.keySet()), to, cut);
    }

    /** Adds to {@code contents} a certificate and key from {@code ca} for each of {@code names}. */
    private static void issueInto(Map<Path, String> contents, CertificateAuthority ca, Path dir, List<String> names,
                                  Instant from, Instant to, List<String> extraNames, RevocationSources revocation) {
        for (String name : names) {
            List<String> alternatives = new ArrayList<>(List.of(name));
            alternatives.addAll(LOCAL_NAMES);
            alternatives.addAll(extraNames);
            IssuedCertificate issued = ca.issue(name, KeyKind.EC_P256, from, to, alternatives, revocation);
            contents.put(cert(dir, name), issued.certificatePem());
            contents.put(key(dir, name), issued.privateKeyPem());
        }
    }

    /** {@code dir}'s CA, its key decrypted with {@code caKeyPassword} when it is encrypted. */
    static CertificateAuthority loadCa(Path dir, char[] caKeyPassword) throws IOException {
        String key = read(dir.resolve(CA_KEY));
        if (Pem.isEncryptedPrivateKey(key) && caKeyPassword == null) {
            throw new CliException(dir.resolve(CA_KEY) + " is encrypted: give its password with --ca-key-password-file");
        }
        try {
            return CertificateAuthority.fromPem(read(dir.resolve(CA_CERT)), key, caKeyPassword);
        } catch (IllegalArgumentException e) {
            throw new CliException(dir + ": " + CA_CERT + " and " + CA_KEY + " are not a CA and its key: "
                    + e.getMessage(), e);
        }
    }

    private static Map<Path, String> generate(Path dir, List<String> names, Duration validity,
                                              List<String> extraNames, char[] caKeyPassword,
                                              RevocationSources revocation) {
        Instant from = Instant.now().minus(Duration.ofHours(1));
        Instant to = from.plus(Duration.ofHours(1)).plus(validity);
        CertificateAuthority ca = CertificateAuthority.create("baton-dev-ca", from, to.plus(Duration.ofDays(1)));
        Map<Path, String> contents = new LinkedHashMap<>();
        contents.put(dir.resolve(CA_CERT), ca.certificatePem());
        contents.put(dir.resolve(CA_KEY), caKeyPassword == null ? ca.privateKeyPem() : ca.privateKeyPem(caKeyPassword));
        issueInto(contents, ca, dir, names, from, to, extraNames, revocation);
        contents.put(dir.resolve(README), readme(dir, names, to, extraNames, caKeyPassword != null));
        return contents;
    }

    static final String WARNING = "FOR DEVELOPMENT ONLY: a throwaway CA whose key sits unencrypted beside the"
            + " certificates it signs. Anyone who reads ca-key.pem can make certificates every member trusts.";
    static final String WARNING_ENCRYPTED = "FOR DEVELOPMENT ONLY: a throwaway CA. Its key, ca-key.pem, is encrypted"
            + " under your password; anyone who has both can make certificates every member trusts.";

    /** The warning for a CA whose key is, or is not, encrypted. */
    static String warning(boolean encrypted) {
        return encrypted ? WARNING_ENCRYPTED : WARNING;
    }

    private static String readme(Path dir, List<String> names, Instant notAfter, List<String> extraNames,
                                 boolean encrypted) {
        String master = names.contains("master") ? "master" : names.getFirst();
        String node = names.stream().filter(n -> !n.equals(master)).findFirst().orElse(master);
        StringBuilder b = new StringBuilder();
        b.append("Baton development PKI, made by `bin/baton certs`\n\n").append(warning(encrypted)).append('\n')
                .append("Do not use it for a cluster that matters: use your organisation's CA, or at least a CA key\n")
                .append("kept apart from the machines (docs/security.md#quick-start-a-development-pki).\n\n")
                .append("  ca.pem          the CA certificate: every process's --tls-ca\n")
                .append("  ca-key.pem      the CA's private key: needed only to issue more certificates")
                .append(encrypted ? " (encrypted:\n                  `certs revoke` needs --ca-key-password-file)\n" : "\n");
        for (String n : names) {
            b.append(String.format("  %-15s %s's certificate (--tls-cert); %s-key.pem its key (--tls-key)%n",
                    n + ".pem", n, n));
        }
        b.append("\nEach certificate (EC P-256) is for TLS client and server authentication, has CN=NAME and names\n")
                .append("NAME, localhost, 127.0.0.1 and ::1").append(extraNames.isEmpty() ? "" : ", " + String.join(", ", extraNames))
                .append("; valid until ").append(notAfter.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)).append(".\n\nFor example:\n")
                .append("  bin/baton master --port 9394 ").append(tlsOptions(dir, master))
                .append('\n')
                .append("  bin/baton node --master 127.0.0.1:9394 ").append(tlsOptions(dir, node)).append('\n')
                .append("\nTo revoke a certificate: bin/baton certs revoke --dir ").append(dir).append(" --name NAME\n")
                .append("writes crl.pem; give every process --tls-crl ").append(dir.resolve(CRL)).append('\n');
        return b.toString();
    }

    /** What {@link #revoke} wrote: the file, how many certificates it lists, and until when it is valid. */
    record Revoked(Path file, int count, Instant nextUpdate) {
    }

    /**
     * Adds the certificates of {@code names} ({@code dir/NAME.pem}, issued by {@code dir}'s CA) to
     * {@code dir/crl.pem}, keeping the entries already there, signs it with the CA's key, valid from a minute ago for
     * {@code validity}, and replaces the file by an atomic move. A missing or foreign file is a {@link CliException},
     * and so is an encrypted CA key without {@code caKeyPassword} or with a wrong one.
     */
    static Revoked revoke(Path dir, List<String> names, Duration validity, char[] caKeyPassword) throws IOException {
        CertificateAuthority ca = loadCa(dir, caKeyPassword);
        Path crlFile = dir.resolve(CRL);
        Map<java.math.BigInteger, Instant> revoked = revoked(dir, ca);
        try {
            java.security.cert.CertificateFactory factory = java.security.cert.CertificateFactory.getInstance("X.509");
            Instant now = Instant.now();
            for (String name : names) {
                var cert = (java.security.cert.X509Certificate) factory.generateCertificate(
                        new java.io.ByteArrayInputStream(Pem.decode(read(cert(dir, name)), "CERTIFICATE")));
                try {
                    cert.verify(ca.certificate().getPublicKey());
                } catch (java.security.GeneralSecurityException e) {
                    throw new CliException(cert(dir, name) + " was not issued by the CA of " + dir.resolve(CA_CERT));
                }
                revoked.putIfAbsent(cert.getSerialNumber(), now);
            }
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            throw new CliException("cannot revoke in " + dir + ": " + e.getMessage(), e);
        }
        Instant from = Instant.now().minus(Duration.ofMinutes(1));
        Instant to = from.plus(Duration.ofMinutes(1)).plus(validity);
        String pem = Pem.revocationList(ca.revocationList(revoked, from, to));
        Path temp = dir.resolve("." + CRL + ".new");
        Files.deleteIfExists(temp);
        try {
            Pem.writeOwnerOnly(temp, pem);
            Files.move(temp, crlFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        return new Revoked(crlFile, revoked.size(), to);
    }

    /**
     * The serial numbers {@code dir/crl.pem} lists as revoked, with when: none when there is no such file. A list
     * {@code ca} did not sign, or that does not parse, is a {@link CliException}.
     */
    static Map<java.math.BigInteger, Instant> revoked(Path dir, CertificateAuthority ca) throws IOException {
        Map<java.math.BigInteger, Instant> revoked = new LinkedHashMap<>();
        Path crlFile = dir.resolve(CRL);
        if (!Files.exists(crlFile)) {
            return revoked;
        }
        try (var in = Files.newInputStream(crlFile)) {
            var factory = java.security.cert.CertificateFactory.getInstance("X.509");
            for (var c : factory.generateCRLs(in)) {
                var crl = (java.security.cert.X509CRL) c;
                crl.verify(ca.certificate().getPublicKey());
                if (crl.getRevokedCertificates() != null) {
                    for (var entry : crl.getRevokedCertificates()) {
                        revoked.putIfAbsent(entry.getSerialNumber(), entry.getRevocationDate().toInstant());
                    }
                }
            }
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            throw new CliException("cannot read the revocation list " + crlFile + ": " + e.getMessage(), e);
        }
        return revoked;
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CliException("no such file: " + file + " (made by `baton certs --dir " + file.getParent() + "`?)");
        }
    }

    /** The three --tls-* options that present {@code name}'s certificate from {@code dir}. */
    static String tlsOptions(Path dir, String name) {
        return String.join(" ", tlsArgs(dir, name));
    }

    static List<String> tlsArgs(Path dir, String name) {
        return List.of("--tls-cert", cert(dir, name).toString(), "--tls-key", key(dir, name).toString(),
                "--tls-ca", dir.resolve(CA_CERT).toString());
    }
}
