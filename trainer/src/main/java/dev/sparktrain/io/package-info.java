// The io package: sparktrain's binary tensor file, the one on-disk format for models and checkpoints.
/**
 * Model and checkpoint files.
 *
 * <p>{@link dev.sparktrain.io.TensorFile} reads and writes the sparktrain tensor file: a magic number, a JSON
 * header (format name, format version, tensor names and shapes, and the caller's metadata), float32
 * little-endian tensor data and a CRC32C trailer. The byte layout, the header fields and the order in which a
 * reader validates them are specified in {@code docs/model-format.md}, with a NumPy reader for users.
 *
 * <p>{@link dev.sparktrain.io.EnsembleManifest} is the JSON manifest of an ensemble model: K member model files
 * with their SHA-256, checked before any member is loaded.
 *
 * <p>{@link dev.sparktrain.io.ModelZoo} keeps named, versioned models with checksummed manifests and a {@code latest}
 * pointer; {@link dev.sparktrain.io.Lease} is an exclusive heartbeat lease on a run (both in {@code docs/zoo.md}).
 *
 * <p>Files are written atomically (see {@link dev.sparktrain.io.AtomicWrite}) through Hadoop's {@code FileSystem} and validated before any tensor is
 * allocated; every bad file is reported as a one-line {@link dev.sparktrain.UserError} naming it. Java
 * serialization is never used.
 */
package dev.sparktrain.io;
