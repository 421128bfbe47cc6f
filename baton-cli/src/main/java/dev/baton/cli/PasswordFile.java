package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;

/** A password given as a file ({@code --*-password-file}): its first line, from a file its owner only may use. */
final class PasswordFile {

    private PasswordFile() {
    }

    /**
     * The first line of {@code file}, which must be readable by its owner only (as ssh asks of keys); a usage error
     * of {@code command} naming {@code option} otherwise. The caller clears the array once done with it.
     */
    static char[] read(Path file, String option, CommandSpec command) {
        try {
            if (Files.getFileAttributeView(file, PosixFileAttributeView.class) != null
                    && Files.getPosixFilePermissions(file).stream().anyMatch(p -> !p.name().startsWith("OWNER"))) {
                throw new CommandLine.ParameterException(command.commandLine(), option + " " + file
                        + ": its group or others may use it; it must be readable by its owner only: chmod 600 " + file);
            }
            String text = Files.readString(file);
            int end = text.indexOf('\n');
            return (end < 0 ? text : text.substring(0, end)).replace("\r", "").toCharArray();
        } catch (IOException e) {
            throw new CommandLine.ParameterException(command.commandLine(), option + " " + file + ": cannot read it: "
                    + e);
        }
    }
}
