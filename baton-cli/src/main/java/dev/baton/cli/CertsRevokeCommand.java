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
 * {@code baton certs revoke}: adds certificates of a development PKI ({@link DevPki}) to its revocation list,
 * {@code crl.pem}, signed by its CA, for the {@code --tls-crl} option of every command.
 */
@Command(name = "revoke",
        mixinStandardHelpOptions = true,
        header = "Revokes development certificates: writes DIR/crl.pem, for --tls-crl. FOR DEVELOPMENT ONLY.",
        description = {
                "Adds each --name's certificate (DIR/NAME.pem) to DIR/crl.pem, the revocation list signed by the",
                "development CA (DIR/ca.pem, DIR/ca-key.pem), keeping what it already lists. Without --name it only",
                "signs the list again, valid for --days more. Processes started with --tls-crl DIR/crl.pem read it",
                "again within 10 s, close the revoked certificates' open connections and refuse their new ones.",
                "A list past its validity makes every certificate of the CA refused: run this again before then."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton certs revoke --dir dev-pki --name node-3",
                "  baton certs revoke --dir dev-pki --days 30           refresh the list before it runs out",
                "  baton node ... --tls-ca dev-pki/ca.pem --tls-crl dev-pki/crl.pem"})
final class CertsRevokeCommand implements Callable<Integer> {

    static final int MAX_DAYS = 3650;

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The directory `baton certs` wrote.")
    Path dir;

    @Option(names = "--name", paramLabel = "NAME", split = ",",
            description = "The certificates to revoke (comma-separated names of DIR/NAME.pem). Default: none, only"
                    + " sign the list again.")
    List<String> names = new ArrayList<>();

    @Option(names = "--days", paramLabel = "D", defaultValue = "30",
            description = "How long the list is valid (1 to " + MAX_DAYS + "). Default: ${DEFAULT-VALUE}.")
    int days;

    @Mixin
    CaKeyPasswordOption caKeyPassword;

    @Override
    public Integer call() throws IOException {
        if (days < 1 || days > MAX_DAYS) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--days must be between 1 and " + MAX_DAYS + ", was " + days);
        }
        for (String n : names) {
            String problem = DevPki.checkName(n);
            if (problem != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--name: " + problem);
            }
        }
        DevPki.Revoked r = caKeyPassword.use(password -> DevPki.revoke(dir, names, Duration.ofDays(days), password));
        PrintWriter out = spec.commandLine().getOut();
        out.println("baton certs revoke: " + DevPki.warning(caKeyPassword.given()));
        out.println("Wrote " + r.file() + ": " + r.count() + " certificate(s) revoked"
                + (names.isEmpty() ? "" : ", now including " + String.join(", ", names))
                + "; valid until " + r.nextUpdate().truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                + " (run again before then).");
        out.println("Use it with --tls-crl " + r.file());
        out.flush();
        return 0;
    }
}
