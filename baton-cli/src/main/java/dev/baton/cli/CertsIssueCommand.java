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
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code baton certs issue}: more certificates from the development CA {@code baton certs} made, for nodes added to
 * a cluster that already runs on it ({@link DevPki#issue}).
 */
@Command(name = "issue",
        mixinStandardHelpOptions = true,
        header = "Issues more development certificates from DIR's CA, for nodes added later. FOR DEVELOPMENT ONLY.",
        description = {
                "Writes NAME.pem and NAME-key.pem for each --name, signed by the development CA in DIR (DIR/ca.pem,",
                "DIR/ca-key.pem), as `baton certs` makes its own (EC P-256, CN=NAME, naming NAME, localhost, 127.0.0.1",
                "and ::1 and each --san; owner-only files), leaving the CA and the other certificates as they are,",
                "so the processes already running trust the new ones. Valid for --days, but never past the CA's end.",
                "Refuses to overwrite files without --force."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton certs issue --dir dev-pki --name node-4",
                "  baton node ... --tls-cert dev-pki/node-4.pem --tls-key dev-pki/node-4-key.pem --tls-ca dev-pki/ca.pem"})
final class CertsIssueCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The directory `baton certs` wrote.")
    Path dir;

    @Option(names = "--name", required = true, paramLabel = "NAME", split = ",",
            description = "The certificates to issue (comma-separated): letters, digits, '-' and '.'.")
    List<String> names = new ArrayList<>();

    @Option(names = "--days", paramLabel = "D", defaultValue = "365",
            description = "How long they are valid, from an hour ago (1 to " + CertsCommand.MAX_DAYS + "), cut to the"
                    + " CA's own end. Default: ${DEFAULT-VALUE}.")
    int days;

    @Option(names = "--san", paramLabel = "NAME", split = ",",
            description = "More IP addresses or DNS names they name (comma-separated). Default: none.")
    List<String> extraNames = new ArrayList<>();

    @Option(names = "--force", description = "Replace certificates of these names already in DIR.")
    boolean force;

    @Mixin
    CaKeyPasswordOption caKeyPassword;

    @Mixin
    RevocationSourceOptions revocation;

    @Override
    public Integer call() throws IOException {
        if (days < 1 || days > CertsCommand.MAX_DAYS) {
            throw usage("--days must be between 1 and " + CertsCommand.MAX_DAYS + ", was " + days);
        }
        String badName = DevPki.checkNames(names);
        if (badName != null) {
            throw usage("--name: " + badName);
        }
        String badAlternative = DevPki.checkAlternativeNames(extraNames);
        if (badAlternative != null) {
            throw usage("--san: " + badAlternative);
        }
        DevPki.Issued issued = caKeyPassword.use(password -> DevPki.issue(dir, names, Duration.ofDays(days),
                extraNames, force, password, revocation.sources()));
        PrintWriter out = spec.commandLine().getOut();
        out.println("baton certs issue: " + DevPki.warning(caKeyPassword.given()));
        out.println("Wrote, valid until " + issued.notAfter().truncatedTo(ChronoUnit.SECONDS)
                + (issued.cutToTheCa() ? " (the CA's own end: make a new PKI for longer)" : "") + ":");
        for (Path f : issued.files()) {
            out.println("  " + f);
        }
        out.println("For example: bin/baton node ... " + DevPki.tlsOptions(dir, names.getFirst()));
        out.flush();
        return 0;
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
