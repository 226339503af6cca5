package dev.sparktrain.spark.ml

import org.apache.spark.ml.param.{DoubleParam, IntParam, LongParam, Param, ParamValidators, Params}

/**
 * The training parameters of [[NeuralNetClassifier]]. Each typed param, when set, overrides the matching setting
 * of `config` (the text of a conf file: `key = value` lines, or one line of `;`-separated ones; every setting of the CLI's
 * `train` command; see README, "Configuration"). Unset typed params leave the config's value, or the settings
 * table's default, in force, so a conf file and its estimator train the same bits.
 */
trait NeuralNetParams extends Params {
  final val config: Param[String] = new Param[String](this, "config",
    "settings as in a conf file: 'key = value' lines, or one line of ';'-separated ones (model.*, optimizer.*, schedule.*, train.*, " +
      "regularization, data.augment, ema.*, ...); the typed params override them")

  final val layers: Param[String] = new Param[String](this, "layers",
    "the network, as model.layers: e.g. 'dense(256), relu, dropout(0.2), dense(10)'",
    (s: String) => s.trim.nonEmpty)

  final val optimizer: Param[String] = new Param[String](this, "optimizer",
    "optimizer.name: " + NeuralNetParams.Optimizers.mkString(", "),
    ParamValidators.inArray[String](NeuralNetParams.Optimizers))

  final val learningRate: DoubleParam = new DoubleParam(this, "learningRate", "optimizer.learning_rate (> 0)",
    ParamValidators.gt(0.0))

  final val dropout: DoubleParam = new DoubleParam(this, "dropout",
    "the rate of every dropout layer of the network, in [0, 1)", ParamValidators.inRange(0.0, 1.0, true, false))

  final val epochs: IntParam = new IntParam(this, "epochs", "train.epochs (>= 1)", ParamValidators.gtEq(1))

  final val batchSize: IntParam = new IntParam(this, "batchSize", "train.batch_size, the global minibatch (>= 1)",
    ParamValidators.gtEq(1))

  final val seed: LongParam = new LongParam(this, "seed", "train.seed: initialization, minibatch order, split, dropout")

  final val engine: Param[String] = new Param[String](this, "engine",
    "train.engine: " + NeuralNetParams.Engines.mkString(", "), ParamValidators.inArray[String](NeuralNetParams.Engines))

  final val imageShape: Param[String] = new Param[String](this, "imageShape",
    "data.shape: CxHxW of image features (convolutions need it), e.g. 1x28x28; empty: flat features",
    (s: String) => s.isEmpty || s.matches("\\d+x\\d+x\\d+"))

  final val numPartitions: IntParam = new IntParam(this, "numPartitions",
    "data.partitions: how many cached blocks the examples are split into, one task each (>= 1)", ParamValidators.gtEq(1))

  final val validationFraction: DoubleParam = new DoubleParam(this, "validationFraction",
    "data.validation_fraction: held out for validation, in [0, 1)", ParamValidators.inRange(0.0, 1.0, true, false))

  final val initialModel: Param[String] = new Param[String](this, "initialModel",
    "finetune.from: fine-tune a pretrained sparktrain model (a model file on any Hadoop path, or NAME[@vN|@latest] " +
      "with finetune.zoo in config): its layers but the head start the fit, its standardization is kept, and " +
      "finetune.freeze_until and finetune.lr_mult in config apply")

  final val metricsPath: Param[String] = new Param[String](this, "metricsPath",
    "metrics.path: the fit's metrics as JSON lines on any Hadoop path (docs/metrics.md); under CrossValidator each " +
      "fit replaces the file, so leave it unset there")

  final val numMembers: IntParam = new IntParam(this, "numMembers",
    "an ensemble of this many networks, trained as the ensemble command trains them (ensemble.vary, " +
      "ensemble.concurrency from config; by default members differ by init and order seed) over one cached copy; " +
      "the model averages their probabilities (>= 1; 1: one network)", ParamValidators.gtEq(1))

  setDefault(config -> "", numMembers -> 1)

  def getNumMembers: Int = $(numMembers)

  def getConfig: String = $(config)
}

object NeuralNetParams {
  val Optimizers: Array[String] = Array("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs")
  val Engines: Array[String] = Array("auto", "barrier", "job", "threads")
}
