/**
 * JMH microbenchmarks of Baton's hot path, in packages that mirror what they measure: {@code dev.baton} (whole
 * calls, here), {@code dev.baton.spi.connection} (the connection core every transport shares: frame encoding and
 * decoding) and {@code dev.baton.internal.tcp} (the combining send over TCP). Run with the GC profiler to see allocation per operation:
 *
 * <pre>
 * java -cp 'baton-benchmarks/target/baton-benchmarks.jar:baton-benchmarks/target/lib/*' org.openjdk.jmh.Main \
 *     -prof gc -jvmArgs --sun-misc-unsafe-memory-access=allow 'dev.baton.bench.jmh'
 * </pre>
 *
 * The benchmarks of internals run on the class path, where baton-core's module-info does not apply. JMH's
 * {@code gc.alloc.rate.norm} counts every thread of the benchmark JVM (it reads
 * {@code getTotalThreadAllocatedBytes}), so I/O threads are included.
 */
package dev.baton.bench.jmh;
