package dev.baton.cli;

import dev.baton.pki.RevocationSources;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --crl-url} and {@code --ocsp-url}: where the certificates a {@code certs} command makes say their revocation
 * status is published, for peers that run with {@code --tls-crl-fetch} or {@code --tls-ocsp}. A mixin.
 */
final class RevocationSourceOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--crl-url", paramLabel = "URL", split = ",",
            description = "A CRL distribution point the certificates name (http, comma-separated for several): where"
                    + " the CA's list is served (e.g. DIR/crl.pem, which `certs revoke` writes, behind any web"
                    + " server). Default: none.")
    List<String> crlUrls = new ArrayList<>();

    @Option(names = "--ocsp-url", paramLabel = "URL",
            description = "The OCSP responder the certificates name (http). Default: none.")
    String ocspUrl;

    /** What the certificates name; a usage error for a URL that is not an absolute http one. */
    RevocationSources sources() {
        List<URI> crls = new ArrayList<>();
        for (String u : crlUrls) {
            crls.add(uri("--crl-url", u));
        }
        List<URI> ocsp = ocspUrl == null ? List.of() : List.of(uri("--ocsp-url", ocspUrl));
        try {
            return new RevocationSources(crls, ocsp);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(command.commandLine(), e.getMessage());
        }
    }

    private URI uri(String option, String text) {
        try {
            return new URI(text);
        } catch (URISyntaxException e) {
            throw new CommandLine.ParameterException(command.commandLine(), option + ": not a URI: " + text);
        }
    }
}
