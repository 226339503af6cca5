/**
 * Optimizers as small init/update transforms over immutable state records, in the manner of optax: a named
 * optimizer is a short chain of blocks. They run on the driver, on the aggregated mean gradient.
 */
package dev.sparktrain.optim;
