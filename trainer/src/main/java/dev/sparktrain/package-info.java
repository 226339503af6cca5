/**
 * sparktrain: data-parallel neural-network training on Apache Spark.
 *
 * <p>Only {@code dev.sparktrain.spark} imports Spark. Kernels ({@code tensor}), layers ({@code nn}),
 * optimizers ({@code optim}), data formats ({@code data}), model files ({@code io}) and configuration
 * ({@code config}) are plain Java and are tested without a Spark session.
 */
package dev.sparktrain;
