/**
 * Random data augmentation of images during training, and fixed test-time views, in place over flat
 * {@code float[]} buffers with offsets; plain Java, shipped to Spark executors inside an immutable
 * {@link dev.sparktrain.augment.AugmentPipeline}.
 *
 * <p>One example is C×H×W (the NCHW convention of {@link dev.sparktrain.tensor}): C planes of H rows of W floats.
 * Inputs are already standardized, so 0 is the mean pixel and zero padding is mean-valued padding. Every op draws
 * only from the {@link dev.sparktrain.tensor.Rng} it is given, so an example's augmentation is a function of the
 * stream the caller derives for it, e.g. {@code Rng.derive(seed, Rng.AUGMENT, step, exampleId)}.
 */
package dev.sparktrain.augment;
