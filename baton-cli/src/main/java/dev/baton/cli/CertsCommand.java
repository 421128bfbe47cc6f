package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code baton certs}: a development CA and certificates for a local cluster ({@link DevPki}), for the
 * {@code --tls-cert}, {@code --tls-key} and {@code --tls-ca} options of every command. Says, and writes into the
 * directory's README.txt, that they are for development only.
 */
@Command(name = "certs",
        mixinStandardHelpOptions = true,
        subcommands = {CertsIssueCommand.class, CertsRevokeCommand.class, CertsServeCommand.class},
        header = "Makes a development CA and certificates for --tls-cert/--tls-key/--tls-ca. FOR DEVELOPMENT ONLY.",
        description = {
                "Writes ca.pem and ca-key.pem (the CA), NAME.pem and NAME-key.pem for each certificate, and README.txt,",
                "all readable by their owner only (0600; a directory it creates is 0700). Certificates are EC P-256,",
                "for TLS client and server authentication (Baton's TLS is mutual), with CN=NAME, naming NAME,",
                "localhost, 127.0.0.1 and ::1 (and each --san). Refuses to overwrite files without --force.",
                "The CA key is written beside the certificates, unencrypted unless --ca-key-password-file is given:",
                "anyone who reads it (and knows its password) can make certificates every member trusts. Use a real CA",
                "for a cluster that matters.",
                "`baton certs issue --dir DIR --name NAME` issues one more from the same CA (a node added later);",
                "`baton certs revoke --dir DIR --name NAME` revokes one: it writes DIR/crl.pem, for --tls-crl;",
                "`baton certs serve --dir DIR` serves the list and OCSP answers, for --tls-crl-fetch and --tls-ocsp."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton certs --dir dev-pki                  master, node-1..node-3 and tool",
                "  baton certs --dir dev-pki --names master,gpu-0,gpu-1 --days 30",
                "  baton master --tls-cert dev-pki/master.pem --tls-key dev-pki/master-key.pem --tls-ca dev-pki/ca.pem"})
final class CertsCommand implements Callable<Integer> {

    static final int MAX_NODES = 256;
    static final int MAX_DAYS = 3650;

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where the files go. Required.")
    Path dir;

    @Option(names = "--nodes", paramLabel = "N",
            description = "Certificates master, node-1 ... node-N and tool (for status, health, accumulators)."
                    + " Default: 3.")
    Integer nodes;

    @Option(names = "--names", paramLabel = "NAME", split = ",",
            description = "Exactly these certificates instead (comma-separated): letters, digits, '-' and '.'.")
    List<String> names;

    @Option(names = "--days", paramLabel = "D", defaultValue = "365",
            description = "How long the certificates are valid, from an hour ago (1 to " + MAX_DAYS + ")."
                    + " Default: ${DEFAULT-VALUE}.")
    int days;

    @Option(names = "--san", paramLabel = "NAME", split = ",",
            description = "More IP addresses or DNS names every certificate names (comma-separated), for peers on"
                    + " other hosts that check names. Default: none.")
    List<String> extraNames = new ArrayList<>();

    @Option(names = "--force", description = "Replace files of an earlier run in DIR.")
    boolean force;

    @Mixin
    CaKeyPasswordOption caKeyPassword;

    @Mixin
    RevocationSourceOptions revocation;

    @Override
    public Integer call() throws IOException {
        if (dir == null) {
            throw usage("Missing required option: '--dir=DIR'");
        }
        List<String> certificates = certificateNames();
        if (days < 1 || days > MAX_DAYS) {
            throw usage("--days must be between 1 and " + MAX_DAYS + ", was " + days);
        }
        String badAlternative = DevPki.checkAlternativeNames(extraNames);
        if (badAlternative != null) {
            throw usage("--san: " + badAlternative);
        }
        caKeyPassword.use(password -> {
            DevPki.write(dir, certificates, Duration.ofDays(days), extraNames, force, password, revocation.sources());
            return null;
        });
        PrintWriter out = spec.commandLine().getOut();
        out.println("baton certs: " + DevPki.warning(caKeyPassword.given()));
        out.println("Wrote to " + dir + " (see its " + DevPki.README + "), valid for " + days + " days:");
        for (Path f : DevPki.files(dir, certificates)) {
            out.println("  " + f);
        }
        String first = certificates.contains("master") ? "master" : certificates.getFirst();
        out.println("For example: bin/baton master " + DevPki.tlsOptions(dir, first));
        out.flush();
        return 0;
    }

    private List<String> certificateNames() {
        if (names != null && nodes != null) {
            throw usage("--nodes and --names exclude each other");
        }
        if (names != null) {
            String problem = DevPki.checkNames(names);
            if (problem != null) {
                throw usage("--names: " + problem);
            }
            if (names.isEmpty()) {
                throw usage("--names: name at least one certificate");
            }
            return List.copyOf(names);
        }
        int n = nodes == null ? 3 : nodes;
        if (n < 1 || n > MAX_NODES) {
            throw usage("--nodes must be between 1 and " + MAX_NODES + ", was " + n);
        }
        List<String> all = new ArrayList<>(List.of("master"));
        for (int i = 1; i <= n; i++) {
            all.add("node-" + i);
        }
        all.add("tool");
        return all;
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
