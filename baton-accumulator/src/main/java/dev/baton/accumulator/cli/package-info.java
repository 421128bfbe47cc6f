/** The {@code bin/baton accumulators} command. */
package dev.baton.accumulator.cli;
