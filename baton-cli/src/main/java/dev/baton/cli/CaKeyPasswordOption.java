package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** {@code --ca-key-password-file}, the password of the development CA's key: a mixin of the {@code certs} commands. */
final class CaKeyPasswordOption {

    static final String NAME = "--ca-key-password-file";

    /** What to do with the password: null when the option was not given. */
    interface Use<T> {
        T with(char[] password) throws IOException;
    }

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = NAME, paramLabel = "FILE",
            description = "The password of the CA's key, DIR/ca-key.pem: the first line of FILE, which must be"
                    + " readable by its owner only. With `certs` it encrypts the key (PKCS#8, PBES2 with"
                    + " PBKDF2-HMAC-SHA256 and AES-256-CBC); `certs issue` and `certs revoke` then need it."
                    + " Default: the key is not encrypted.")
    Path file;

    /** Runs {@code use} with the password read from the file (null without the option), cleared afterwards. */
    <T> T use(Use<T> use) throws IOException {
        char[] password = file == null ? null : PasswordFile.read(file, NAME, command);
        if (password != null && password.length == 0) {
            throw new CommandLine.ParameterException(command.commandLine(), NAME + " " + file
                    + ": its first line is empty");
        }
        try {
            return use.with(password);
        } finally {
            if (password != null) {
                Arrays.fill(password, '\0');
            }
        }
    }

    /** True when the option was given (the CA key is, or is to be, encrypted). */
    boolean given() {
        return file != null;
    }
}
