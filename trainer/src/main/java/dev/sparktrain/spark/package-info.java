/**
 * Spark: the library API ({@link dev.sparktrain.spark.TrainingData}, {@link dev.sparktrain.spark.Trainer},
 * {@link dev.sparktrain.spark.FitOptions}, {@link dev.sparktrain.spark.TrainedModel}), the engines that feed the
 * training loop gradients from cached partitions ({@link dev.sparktrain.spark.Engine}), data loading, the
 * distributed sum and evaluation jobs, and the commands' jobs (train, evaluate, predict, compare). With
 * {@code cli}, the only package that imports Spark.
 */
package dev.sparktrain.spark;
