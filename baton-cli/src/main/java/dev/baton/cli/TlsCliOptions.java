package dev.baton.cli;

import dev.baton.MasterOptions;
import dev.baton.NodeOptions;
import dev.baton.TlsOptions;
import dev.baton.spi.TransportFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * TLS with mutual authentication for a command that connects or listens: {@code --tls-cert}, {@code --tls-key} and
 * {@code --tls-ca} together turn it on (docs/security.md); {@code --tls-crl} and {@code --tls-crl-fetch} add
 * revocation lists (from a file, from the CRL distribution points), {@code --tls-ocsp} asks OCSP responders,
 * {@code --tls-revocation-required} makes those online checks hard, and {@code --tls-cipher-suites} restricts the cipher suites. Its own mixin, apart from the other options of a
 * command.
 */
final class TlsCliOptions {

    /** The command this is part of, for usage errors. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "This side's certificate chain, PEM, leaf first. With --tls-key and --tls-ca: every "
                    + "connection runs TLS with mutual authentication. Default: plain TCP.")
    Path cert;

    @Option(names = "--tls-key", paramLabel = "FILE",
            description = "The private key of --tls-cert: PEM PKCS#8 ('BEGIN PRIVATE KEY'), EC or RSA.")
    Path key;

    @Option(names = "--tls-key-password-file", paramLabel = "FILE",
            description = "The password of an encrypted --tls-key ('BEGIN ENCRYPTED PRIVATE KEY'): the file's first "
                    + "line. Readable by its owner only (chmod 600).")
    Path keyPasswordFile;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "The CA certificates (PEM bundle) that peers' certificates must lead to.")
    Path ca;

    @Option(names = "--tls-crl", paramLabel = "FILE",
            description = "Certificate revocation lists (PEM or DER X.509 CRLs): peers whose certificate a CA "
                    + "of --tls-ca revoked there are refused. Reread when it changes. Default: none.")
    Path crl;

    @Option(names = "--tls-crl-fetch",
            description = "Also fetch the revocation lists published at the http CRL distribution points that "
                    + "certificates name (this side's, the CAs', accepted peers'), in the background and again before "
                    + "their next update. Default: off.")
    boolean crlFetch;

    @Option(names = "--tls-ocsp", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "Ask the OCSP responders that accepted peers' certificates name about them, in the "
                    + "background, when they connect and then every DURATION (e.g. 5m; at least 1s); a peer a "
                    + "responder says is revoked is refused and cut. Default: no OCSP.")
    Duration ocspEvery;

    @Option(names = "--tls-revocation-required",
            description = "Hard revocation checking: refuse a peer whose revocation status --tls-crl-fetch or "
                    + "--tls-ocsp do not know (a new peer's handshake starts the fetch or the question and waits up "
                    + "to 5s for it). Default: off (a new peer is accepted while they find out).")
    boolean revocationRequired;

    @Option(names = "--tls-cipher-suites", paramLabel = "SUITE", split = ",",
            description = "Enable only these cipher suites, comma-separated (e.g. TLS_AES_256_GCM_SHA384); peers must "
                    + "offer one of them. Default: the JDK's.")
    List<String> cipherSuites;

    /** The options given, or null when no --tls-* option was. */
    TlsOptions options() {
        if (cert == null && key == null && ca == null && crl == null && !crlFetch && ocspEvery == null
                && !revocationRequired && cipherSuites == null && keyPasswordFile == null) {
            return null;
        }
        if (cert == null || key == null || ca == null) {
            throw new CommandLine.ParameterException(command.commandLine(),
                    "--tls-cert, --tls-key and --tls-ca go together, and the other --tls-* options need them");
        }
        if (revocationRequired && !crlFetch && ocspEvery == null) {
            throw new CommandLine.ParameterException(command.commandLine(),
                    "--tls-revocation-required needs an online check to learn the status from: --tls-crl-fetch or "
                            + "--tls-ocsp");
        }
        TlsOptions.Builder b = TlsOptions.builder().trustedCertificates(ca);
        if (keyPasswordFile == null) {
            b.certificate(cert, key);
        } else {
            char[] password = PasswordFile.read(keyPasswordFile, "--tls-key-password-file", command);
            b.certificate(cert, key, password);
            Arrays.fill(password, '\0');
        }
        if (crl != null) {
            b.revocationList(crl);
        }
        b.fetchRevocationLists(crlFetch).requireRevocationStatus(revocationRequired);
        try {
            b.askOcspResponders(ocspEvery);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(command.commandLine(), "--tls-ocsp: " + e.getMessage());
        }
        try {
            return (cipherSuites == null ? b : b.cipherSuites(cipherSuites.toArray(String[]::new))).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(command.commandLine(), e.getMessage());
        }
    }

    NodeOptions.Builder applyTo(NodeOptions.Builder builder) {
        TlsOptions tls = options();
        return tls == null ? builder : builder.tls(tls);
    }

    MasterOptions.Builder applyTo(MasterOptions.Builder builder) {
        TlsOptions tls = options();
        return tls == null ? builder : builder.tls(tls);
    }

    /** TLS when asked for, else TCP: what a probe of this command goes over. */
    TransportFactory transport() {
        TlsOptions tls = options();
        return tls == null ? TransportFactory.tcp() : TransportFactory.tls(tls);
    }

    /** True when the --tls-* options turn TLS on. */
    boolean enabled() {
        return options() != null;
    }
}
