package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import org.apache.spark.api.java.JavaRDD;

/**
 * Labelled examples on the executors, as loaded (not standardized): one dense block per partition, the feature
 * dimension, and where they came from (for messages). What {@link TrainedModel#evaluate} and predict take.
 */
public record Examples(JavaRDD<DataBlock> blocks, int dim, String source) {}
