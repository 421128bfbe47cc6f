/**
 * Support for the fuzz targets (Jazzer {@code @FuzzTest}s) of Baton's modules: measuring what a decoder allocated
 * for one input, and silencing the protocol-error logging that malformed inputs cause. See docs/security.md#fuzzing.
 */
package dev.baton.fuzz;
