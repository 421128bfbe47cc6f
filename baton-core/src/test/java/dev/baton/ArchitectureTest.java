package dev.baton;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The architecture rules of docs/architecture.md, checked on baton-core's compiled classes: the public packages
 * never import internal ones, no cycles among the internal packages, the call path knows no transport and no
 * registry implementation, and no main source file passes 600 lines.
 */
@Timeout(60)
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void load() {
        classes = new ClassFileImporter().importPath(Path.of("target", "classes"));
    }

    @Test
    void thePublicPackagesNeverImportInternalOnes() {
        noClasses().that().resideInAnyPackage("dev.baton", "dev.baton.spi", "dev.baton.spi.connection")
                .should().dependOnClassesThat().resideInAPackage("dev.baton.internal..")
                .check(classes);
    }

    @Test
    void internalPackagesHaveNoCycles() {
        slices().matching("dev.baton.internal.(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void theCallPathKnowsNoTransportAndNoRegistryImplementation() {
        noClasses().that().resideInAPackage("dev.baton.internal.rpc")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.internal.tcp", "dev.baton.internal.registry",
                        "dev.baton.internal.master", "dev.baton.internal.wire")
                .check(classes);
    }

    @Test
    void theMasterDaemonAndTheNodesSideOfItAreSeparate() {
        noClasses().that().resideInAPackage("dev.baton.internal.registry")
                .should().dependOnClassesThat().resideInAPackage("dev.baton.internal.master")
                .check(classes);
        noClasses().that().resideInAPackage("dev.baton.internal.master")
                .should().dependOnClassesThat().resideInAPackage("dev.baton.internal.registry")
                .check(classes);
    }

    @Test
    void noMainSourceFileIsOver600Lines() throws IOException {
        List<String> tooLong;
        try (Stream<Path> files = Files.walk(Path.of("src", "main", "java"))) {
            tooLong = files.filter(p -> p.toString().endsWith(".java")).filter(ArchitectureTest::over600).map(Path::toString)
                    .toList();
        }
        assertEquals(List.of(), tooLong);
    }

    private static boolean over600(Path file) {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.count() > 600;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
