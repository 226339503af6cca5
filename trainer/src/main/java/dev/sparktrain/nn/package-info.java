/**
 * Layers and networks that run forward and backward over a whole minibatch on slices of one flat float32
 * parameter vector.
 *
 * <p>A {@link dev.sparktrain.nn.LayerSpec} is an immutable description; {@link dev.sparktrain.nn.Network}
 * builds the runtime {@link dev.sparktrain.nn.Layer}s with reusable buffers. Activations are N×C row-major.
 */
package dev.sparktrain.nn;
