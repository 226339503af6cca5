/**
 * The only package that imports Spark: it loads data into cached RDDs of dense blocks, runs the data-parallel
 * step (broadcast, per-partition gradient, treeAggregate, destroy) and the evaluation jobs.
 */
package dev.sparktrain.spark;
