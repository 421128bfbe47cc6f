package dev.baton.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code baton bench}, as the command list shows it. The harness lives in its own module (it brings gRPC-java
 * and Aeron along for the comparison), so {@code bin/baton} runs {@code bench} (and {@code help bench}) from
 * there; this entry only names it in the list and says so if reached directly.
 */
@Command(name = "bench",
        header = "Measures Baton (TCP, shared memory, in process) against gRPC-java, Aeron and a raw NIO floor.",
        description = {"Runs from the baton-benchmarks module: `bin/baton bench --help` (or `bin/baton help bench`)"
                + " lists its options; docs/performance.md explains the figures."})
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..*", hidden = true)
    List<String> ignored;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "bench runs from the baton-benchmarks module:"
                + " use bin/baton bench (bin/baton bench --help lists its options)");
    }
}
