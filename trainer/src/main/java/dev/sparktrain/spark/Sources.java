package dev.sparktrain.spark;

import dev.sparktrain.UserError;
import dev.sparktrain.config.TrainConfig;
import dev.sparktrain.data.DatasetFetcher;
import dev.sparktrain.train.Progress;

/**
 * The training and test sources of a job. A named dataset (data.dataset = fashion-mnist) is located, or fetched
 * when missing, on the driver; explicit paths (data.train, data.test) override it.
 */
record Sources(DataLoader.Source train, DataLoader.Source test) {

  static Sources resolve(TrainConfig.Data d, Progress progress) {
    String train = d.train(), trainLabels = d.trainLabels(), test = d.test(), testLabels = d.testLabels();
    if (!d.dataset().isEmpty() && (train.isEmpty() || test.isEmpty())) {
      if (!d.format().equals("idx")) {
        throw new UserError("data.dataset = " + d.dataset() + " is IDX data, but data.format = " + d.format());
      }
      String dir = DatasetFetcher.standard(progress::info).locate(d.dataset()).toUri().toString();
      if (train.isEmpty()) {
        train = dir + "train-images-idx3-ubyte.gz";
        trainLabels = dir + "train-labels-idx1-ubyte.gz";
      }
      if (test.isEmpty()) {
        test = dir + "t10k-images-idx3-ubyte.gz";
        testLabels = dir + "t10k-labels-idx1-ubyte.gz";
      }
    }
    return new Sources(source(d, train, trainLabels), test.isEmpty() ? null : source(d, test, testLabels));
  }

  private static DataLoader.Source source(TrainConfig.Data d, String features, String labels) {
    return new DataLoader.Source(d.format(), features, labels, d.featuresCol(), d.labelCol());
  }
}
