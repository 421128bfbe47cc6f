/**
 * One launcher of child JVMs for Baton's tools ({@code bin/baton demo}, {@code bin/baton bench}) and tests
 * (the test kit): {@link dev.baton.process.ChildJvm}. JDK only; not part of Baton's RPC API.
 */
package dev.baton.process;
