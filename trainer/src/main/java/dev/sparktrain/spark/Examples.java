package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import org.apache.spark.api.java.JavaRDD;

/** Examples loaded onto the executors: one dense block per partition, its feature dimension, and where it came from. */
record Examples(JavaRDD<DataBlock> blocks, int dim, String source) {}
