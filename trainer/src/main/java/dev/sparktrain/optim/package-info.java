/**
 * Optimizers as small init/update transforms over immutable state records, in the manner of optax: a named
 * optimizer ({@link dev.sparktrain.optim.Optimizers}) is a short chain of {@link dev.sparktrain.optim.Blocks}, and
 * {@link dev.sparktrain.optim.OptimizerSpec} builds one from config. They run on the driver, on the aggregated mean
 * gradient. Updates are added to the parameters; no update mutates its inputs, so a state can be saved and replayed.
 * Hyperparameter errors are one-line {@link dev.sparktrain.UserError}s naming the setting, e.g.
 * {@code optimizer.beta1 = 1.0: must be in [0, 1)}.
 */
package dev.sparktrain.optim;
