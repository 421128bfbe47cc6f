package dev.baton.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/**
 * One run of {@code baton} in this JVM, through {@link BatonCli#newCommandLine()} (Baton's error reporting):
 * its exit code and what it printed.
 */
record CliRun(int exitCode, String out, String err) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = BatonCli.newCommandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(args);
        return new CliRun(code, out.toString(), err.toString());
    }
}
