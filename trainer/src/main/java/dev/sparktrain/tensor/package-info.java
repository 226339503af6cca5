/**
 * Float32 kernels over flat {@code float[]} buffers with offsets.
 *
 * <p>Letter convention for shape comments: N batch, C input features (or channels), K outputs (or output
 * channels), H×W input spatial size, R×S kernel (or pooling window) size, P×Q output spatial size, M×N×K for a
 * GEMM. Images are NCHW: one example is C planes of H rows of W floats. All matrices are row-major. Every fast
 * kernel has a naive twin ({@link dev.sparktrain.tensor.NaiveGemm}, {@link dev.sparktrain.tensor.NaiveConv2d},
 * {@link dev.sparktrain.tensor.NaiveBatchNorm}, {@link dev.sparktrain.tensor.NaiveFractionalMaxPool2d}) and a
 * parity test; the pooling kernels are loops simple enough to check against hand-computed values.
 */
package dev.sparktrain.tensor;
