/**
 * The training loop and what it is made of, without Spark: {@link dev.sparktrain.train.TrainingLoop} (steps and
 * epochs, nothing else), the {@link dev.sparktrain.train.StepEngine} it asks for gradients, the
 * {@link dev.sparktrain.train.Callback}s that do everything optional (progress, checkpoints, the finite check,
 * reduce-on-plateau, heap logging), the seeded minibatch plan, the per-partition gradient task, and the
 * order-independent gradient sum. {@code dev.sparktrain.spark} supplies the engines over RDDs.
 */
package dev.sparktrain.train;
