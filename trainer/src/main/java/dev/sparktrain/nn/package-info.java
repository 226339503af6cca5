/**
 * Layers and networks that run forward and backward over a whole minibatch on slices of one flat float32
 * parameter vector.
 *
 * <p>A {@link dev.sparktrain.nn.LayerSpec} is an immutable description; {@link dev.sparktrain.nn.Network}
 * builds the runtime {@link dev.sparktrain.nn.Layer}s with reusable buffers. Each example flows between layers
 * with a {@link dev.sparktrain.nn.Shape} (C,H,W); activations are N examples of C·H·W floats, row-major (NCHW).
 * Random layers draw from the {@link dev.sparktrain.nn.StepContext}; BatchNorm reports batch statistics that
 * the driver sums over partitions to update the running averages kept in the parameter vector.
 */
package dev.sparktrain.nn;
