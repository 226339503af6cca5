/**
 * Float32 kernels over flat {@code float[]} buffers with offsets.
 *
 * <p>Letter convention for shape comments: N batch, C input features (or channels), K outputs,
 * H×W spatial, M×N×K for a GEMM. All matrices are row-major. Every fast kernel has a naive twin
 * ({@link dev.sparktrain.tensor.NaiveGemm}) and a parity test.
 */
package dev.sparktrain.tensor;
