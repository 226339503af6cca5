package dev.sparktrain.spark;

import dev.sparktrain.data.DataBlock;
import dev.sparktrain.data.FeatureStats;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;

/**
 * Training and validation blocks, standardized and cached on the executors, with the global training-index
 * offset of each partition. The validation split is a seeded function of each example's source row, so it does
 * not depend on the partitioning.
 */
record PreparedData(JavaRDD<DataBlock> train, JavaRDD<DataBlock> validation, int[] offsets, int trainCount,
                    long validationCount, int dim, FeatureStats.Standardizer standardizer) {

  /** standardize is feature, channel (with the given channel count) or none; see TrainConfig.Data. */
  static PreparedData prepare(Examples examples, long seed, double validationFraction, String standardize,
                              int channels) {
    var sc = examples.blocks().context();
    sc.setJobDescription("prepare data · split, statistics, cache");
    JavaRDD<DataBlock> raw = examples.blocks().persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataBlock> trainRaw = raw.map(b -> b.select(seed, validationFraction, false));
    FeatureStats.Standardizer std;
    if (!standardize.equals("none")) {
      FeatureStats total = new FeatureStats(examples.dim());
      for (FeatureStats s : trainRaw.map(FeatureStats::of).collect()) total.merge(s);  // partition order
      std = standardize.equals("channel") ? total.perChannel(channels) : total.standardizer();
    } else {
      std = FeatureStats.Standardizer.identity(examples.dim());
    }
    JavaRDD<DataBlock> train = trainRaw.map(b -> b.standardized(std)).persist(StorageLevel.MEMORY_ONLY());
    JavaRDD<DataBlock> val = raw.map(b -> b.select(seed, validationFraction, true).standardized(std))
        .persist(StorageLevel.MEMORY_ONLY());
    List<Integer> counts = train.map(DataBlock::n).collect();
    long valCount = val.map(b -> (long) b.n()).fold(0L, Long::sum);
    raw.unpersist(false);
    int[] offsets = new int[counts.size()];
    long total = 0;
    for (int p = 0; p < offsets.length; p++) {
      offsets[p] = (int) total;
      total += counts.get(p);
    }
    if (total > Integer.MAX_VALUE) throw new dev.sparktrain.UserError(examples.source() + ": more than 2^31 training examples");
    return new PreparedData(train, val, offsets, (int) total, valCount, examples.dim(), std);
  }

  void release() {
    train.unpersist(false);
    validation.unpersist(false);
  }
}
