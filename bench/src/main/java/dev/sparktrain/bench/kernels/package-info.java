/**
 * JMH benchmarks of the trainer's kernels on the shapes of the {@code cnn} and {@code mlp} workloads: every
 * GEMM of their conv and dense layers, the im2col convolution, max pooling and batch normalization, each set
 * beside OpenBLAS {@code sgemm} as a reference.
 *
 * <p>{@link dev.sparktrain.bench.kernels.KernelReport} runs them (via {@code scripts/bench-kernels}) and writes
 * one JSON report; see bench/KERNELS.md. Only the trainer's public API is used. Nothing here is a runtime
 * dependency of the trainer.
 */
package dev.sparktrain.bench.kernels;
