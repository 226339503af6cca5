/**
 * The pieces of a data-parallel step that do not need Spark: the seeded minibatch plan, the per-partition
 * gradient task, the order-independent gradient sum, and progress reporting. {@code dev.sparktrain.spark} wires
 * them to RDDs.
 */
package dev.sparktrain.train;
