/**
 * JMH benchmarks of single-threaded SGEMM on the trainer's layer shapes, across the candidate BLAS libraries.
 *
 * <p>{@link dev.sparktrain.bench.GemmBenchmark} is the JMH benchmark; {@link dev.sparktrain.bench.GemmReport}
 * runs it and turns the scores into GFLOP/s and ratios to OpenBLAS. Shapes use the tensor package's
 * convention: a GEMM is op(A)(M×K)·op(B)(K×N), all matrices row-major. Nothing here is a runtime dependency
 * of the trainer.
 */
package dev.sparktrain.bench;
