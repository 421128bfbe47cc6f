package dev.baton.cli;

import dev.baton.pki.CertificateAuthority;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code baton certs serve}: the revocation list and OCSP answers of a development PKI over HTTP
 * ({@link DevRevocationServer}), for processes that run with {@code --tls-crl-fetch} or {@code --tls-ocsp} and
 * certificates made with {@code --crl-url} or {@code --ocsp-url}.
 */
@Command(name = "serve",
        mixinStandardHelpOptions = true,
        header = "Serves the development CA's revocation list and OCSP answers over HTTP. FOR DEVELOPMENT ONLY.",
        description = {
                "Answers OCSP requests at /ocsp (POST, or GET /ocsp/BASE64) and serves the CA's revocation list (DER)",
                "at every other path, both signed by the development CA (DIR/ca.pem, DIR/ca-key.pem) and saying what",
                "DIR/crl.pem lists (what `baton certs revoke` writes: read again when it changes, so a revocation is",
                "served at once; none revoked without the file). Each list and answer is valid for --valid; processes",
                "fetch a list again halfway to its end and ask OCSP every --tls-ocsp interval. Runs until stopped.",
                "Name it in the certificates with --crl-url and --ocsp-url when they are made (`baton certs`,",
                "`baton certs issue`). It holds the CA's key: keep it on loopback or a trusted network."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  baton certs --dir dev-pki --crl-url http://127.0.0.1:8089/crl --ocsp-url http://127.0.0.1:8089/ocsp",
                "  baton certs serve --dir dev-pki --port 8089",
                "  baton node ... --tls-ca dev-pki/ca.pem --tls-crl-fetch --tls-ocsp 1m --tls-revocation-required",
                "  baton certs revoke --dir dev-pki --name node-3      served at once"})
final class CertsServeCommand implements Callable<Integer> {

    static final String READY = "baton certs serve listening on ";

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The directory `baton certs` wrote.")
    Path dir;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "The address to listen on. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8089",
            description = "The port to listen on (0: any free one). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--valid", paramLabel = "DURATION", defaultValue = "10m", converter = DurationConverter.class,
            description = "How long each list and answer is valid (at least 10s, at most 30d). Default: "
                    + "${DEFAULT-VALUE}.")
    Duration validity;

    @Mixin
    CaKeyPasswordOption caKeyPassword;

    @Option(names = "--supervised", hidden = true,
            description = "Also stop, exiting with 0, at end of input on stdin (used by tests).")
    boolean supervised;

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (port < 0 || port > 65535) {
            throw usage("--port must be between 0 and 65535, was " + port);
        }
        if (validity.compareTo(Duration.ofSeconds(10)) < 0 || validity.compareTo(Duration.ofDays(30)) > 0) {
            throw usage("--valid must be between 10s and 30d, was " + DurationConverter.format(validity));
        }
        CertificateAuthority ca = caKeyPassword.use(password -> DevPki.loadCa(dir, password));
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Foreground.Stop stop = Foreground.stopOnEndOfInput(supervised);
        try (Foreground.Owned<DevRevocationServer> server = Foreground.closeOnShutdown("revocation server",
                DevRevocationServer.start(new InetSocketAddress(host, port), dir, ca, validity, err), err)) {
            String at = server.get().uri().toString();
            out.println(READY + at);
            out.println("baton certs serve: " + DevPki.warning(caKeyPassword.given()));
            out.println("  revocation list of " + ca.name() + ": " + at + "/crl (or any path but /ocsp), as "
                    + "--crl-url names it");
            out.println("  OCSP responder: " + at + "/ocsp, as --ocsp-url names it");
            out.println("  revoked: what " + dir.resolve(DevPki.CRL) + " lists (`baton certs revoke --dir " + dir
                    + " --name NAME`)");
            out.flush();
            stop.await();
        }
        return 0;
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
