package dev.sparktrain.spark.ml

import dev.sparktrain.UserError
import dev.sparktrain.config.{Settings, SettingsTable, TrainConfig}
import dev.sparktrain.spark.{EnsembleJob, FineTuneJob, FitOptions, ParallelRuns, RunMetrics, TrainedModel, Trainer,
  TrainingData}
import dev.sparktrain.train.{Metrics, Progress}
import org.apache.spark.api.java.JavaSparkContext
import org.apache.spark.ml.classification.ProbabilisticClassifier
import org.apache.spark.ml.linalg.{Vector, VectorUDT}
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.{DefaultParamsReadable, DefaultParamsWritable, Identifiable}
import org.apache.spark.sql.Dataset
import org.apache.spark.sql.functions.{col, first, max, min, sum, when}

import scala.jdk.CollectionConverters._

/**
 * A spark.ml Estimator that trains a sparktrain network on a DataFrame with the same loop, engines and seeds as
 * the `train` command: a `Vector` features column (an image's pixels in CxHxW order when `imageShape` is set) and
 * a label column of class indices 0 … k−1. It fits inside a `Pipeline` and under `CrossValidator`.
 *
 * {{{
 * val nn = new NeuralNetClassifier()
 *   .setConfig("model.layers = dense(256), relu, dropout(0.2), dense(10); optimizer.name = adam")
 *   .setLearningRate(1e-3).setEpochs(5)
 * val model = new Pipeline().setStages(Array(assembler, scaler, nn)).fit(train)
 * }}}
 */
class NeuralNetClassifier(override val uid: String)
    extends ProbabilisticClassifier[Vector, NeuralNetClassifier, NeuralNetClassificationModel]
    with NeuralNetParams with DefaultParamsWritable {

  def this() = this(Identifiable.randomUID("nnclassifier"))

  def setConfig(value: String): this.type = set(config, value)
  def setLayers(value: String): this.type = set(layers, value)
  def setOptimizer(value: String): this.type = set(optimizer, value)
  def setLearningRate(value: Double): this.type = set(learningRate, value)
  def setDropout(value: Double): this.type = set(dropout, value)
  def setEpochs(value: Int): this.type = set(epochs, value)
  def setBatchSize(value: Int): this.type = set(batchSize, value)
  def setSeed(value: Long): this.type = set(seed, value)
  def setEngine(value: String): this.type = set(engine, value)
  def setImageShape(value: String): this.type = set(imageShape, value)
  def setNumPartitions(value: Int): this.type = set(numPartitions, value)
  def setValidationFraction(value: Double): this.type = set(validationFraction, value)
  def setInitialModel(value: String): this.type = set(initialModel, value)
  def setMetricsPath(value: String): this.type = set(metricsPath, value)
  def setNumMembers(value: Int): this.type = set(numMembers, value)

  override def copy(extra: ParamMap): NeuralNetClassifier = defaultCopy(extra)

  /**
   * The training config this estimator stands for: `config`'s settings, then every typed param that is set; the
   * DataFrame stands for data.train. `numClasses` is the label column's, found by the caller.
   */
  def trainConfig(numClasses: Int): TrainConfig = {
    val base = Settings.parse($(config), s"$uid.config")
    val over = new java.util.LinkedHashMap[String, String]()
    over.put("data.format", "parquet")
    over.put("data.dataset", "")
    over.put("data.train", "DataFrame")
    over.put("data.test", "")
    over.put("data.num_classes", numClasses.toString)
    def put(p: org.apache.spark.ml.param.Param[_], key: String): Unit = get(p).foreach(v => over.put(key, v.toString))
    put(layers, "model.layers")
    put(optimizer, "optimizer.name")
    put(learningRate, "optimizer.learning_rate")
    put(epochs, "train.epochs")
    put(batchSize, "train.batch_size")
    put(seed, "train.seed")
    put(engine, "train.engine")
    put(imageShape, "data.shape")
    put(numPartitions, "data.partitions")
    put(validationFraction, "data.validation_fraction")
    put(initialModel, "finetune.from")
    put(metricsPath, "metrics.path")
    if ($(numMembers) > 1) over.put("ensemble.members", $(numMembers).toString)
    var settings = base.withOverrides(over)
    get(dropout).foreach { rate =>
      val text = if (over.containsKey("model.layers")) over.get("model.layers")
        else TrainConfig.from(settings).model().layers()
      val replaced = NeuralNetClassifier.DropoutLayer.replaceAllIn(text, s"dropout($rate)")
      if (replaced == text && NeuralNetClassifier.DropoutLayer.findFirstIn(text).isEmpty) {
        throw new IllegalArgumentException(s"$uid parameter dropout = $rate: the network has no dropout layer " +
          s"(layers = $text)")
      }
      settings = settings.withOverrides(java.util.Map.of("model.layers", replaced))
    }
    try TrainConfig.from(settings)
    catch { case e: UserError => throw new IllegalArgumentException(s"$uid: ${e.getMessage}", e) }
  }

  /** One fit, with its metrics file (metricsPath) when set; its end line holds the fit's summary. */
  private def fitLogged(spark: org.apache.spark.sql.SparkSession, trainer: Trainer, data: TrainingData,
      options: FitOptions, cfg: TrainConfig): TrainedModel = {
    val log = RunMetrics.open(spark, cfg, "estimator")
    val fitted = trainer.fit(data, RunMetrics.`with`(options, log))
    if (log != null) {
      val s = fitted.summary()
      val result = new java.util.LinkedHashMap[String, Object]()  // NaN is written as null by the log
      result.put("uid", uid)
      result.put("epochs", Int.box(s.epochs()))
      result.put("train_loss", Double.box(s.trainLoss()))
      result.put("validation_accuracy", Double.box(s.validationAccuracy()))
      result.put("seconds_per_epoch", Double.box(s.secondsPerEpoch()))
      result.put("engine", s.engine())
      log.finish(result, Metrics.NONE)
    }
    fitted
  }

  override protected def train(dataset: Dataset[_]): NeuralNetClassificationModel = {
    val features = $(featuresCol)
    val label = $(labelCol)
    val stats = dataset.select(
      min(col(label)).as("lo"), max(col(label)).as("hi"),
      sum(when(col(label).isNull || col(label) =!= col(label).cast("long"), 1).otherwise(0)).as("bad"),
      first(col(features), ignoreNulls = true).as("features")).head()  // one pass: labels, and a row's width
    if (stats.isNullAt(0)) throw new IllegalArgumentException(s"$uid: the DataFrame has no rows to fit")
    val (lo, hi, bad) = (stats.getDouble(0), stats.getDouble(1), stats.getLong(2))
    if (bad > 0 || lo < 0) {
      throw new IllegalArgumentException(s"labelCol '$label': labels must be class indices 0, 1, 2, …; found " +
        (if (lo < 0) s"$lo" else s"$bad non-integer or null values"))
    }
    val k = math.max(2, hi.toInt + 1)
    val spark = dataset.sparkSession
    val requested = trainConfig(k)
    // fine-tuning (finetune.from): the pretrained architecture with a new head, its standardization, its weights
    val plan =
      if (requested.get(SettingsTable.FINETUNE_FROM).trim.isEmpty) None
      else try Some(FineTuneJob.plan(requested, spark.sparkContext.hadoopConfiguration))
      catch { case e: UserError => throw new IllegalArgumentException(s"$uid parameter initialModel: ${e.getMessage}", e) }
    val cfg = plan.map(_.config()).getOrElse(requested)
    val shape = cfg.data().shape()
    val width = stats.getAs[Vector](3).size
    if (shape != null && shape.size() != width) {
      throw new IllegalArgumentException(s"featuresCol '$features' has $width values per row, but imageShape " +
        s"${shape.c()}x${shape.h()}x${shape.w()} needs ${shape.size()}")
    }
    val prep = plan.map(_.preparation()).getOrElse(TrainingData.Preparation.of(cfg.data()))
    val data =
      try TrainingData.from(dataset.select(col(features), col(label)).toDF(), features, label, shape, prep)
      catch { case e: UserError => throw new IllegalArgumentException(s"featuresCol '$features' / labelCol '$label': ${e.getMessage}", e) }
    try {
      try Trainer.modelSpec(cfg, data)
      catch { case e: UserError => throw new IllegalArgumentException(s"$uid parameter layers: ${e.getMessage} " +
        s"(featuresCol '$features' has $width values, labelCol '$label' has $k classes)", e) }
      val options = plan.map(p => FitOptions.from(cfg).withInitial(p.initial())).getOrElse(FitOptions.from(cfg))
      val progress = Progress.standard(System.err)
      val trainer = new Trainer(spark)
      val start = options.withName(uid).withProgress(progress)
      val members: Seq[TrainedModel] =
        if ($(numMembers) == 1) Seq(fitLogged(spark, trainer, data, start, cfg))
        else {
          val specs = EnsembleJob.members(cfg).asScala.toSeq
          val runs = specs.map { m =>
            val member = cfg.`with`(m.overrides())
            val o = start.withConfig(member).withName(s"$uid/${m.name()}").withProgress(progress.forRun(m.name()))
            new ParallelRuns.Run(m.name(), o)
          }
          val schedule = ParallelRuns.plan(JavaSparkContext.fromSparkContext(spark.sparkContext), cfg.training().engine(),
            runs.size, data.partitions(), cfg.get(SettingsTable.ENSEMBLE_CONCURRENCY))
          progress.info(s"$uid: ensemble of ${runs.size}: ${schedule.describe()}")
          val outcomes = ParallelRuns.fit(trainer, data, runs.asJava, schedule, true, progress).asScala.toSeq
          outcomes.find(!_.ok()).foreach(o => throw new IllegalArgumentException(s"$uid: member ${o.name()} failed: ${o.failure()}"))
          outcomes.map(_.model())
        }
      val fitted = members.head
      copyValues(new NeuralNetClassificationModel(uid, fitted.spec(), members.map(_.params()).toArray,
        fitted.standardizer(), fitted.config()).setParent(this))
    } catch {
      case e: UserError => throw new IllegalArgumentException(s"$uid: ${e.getMessage}", e)
    } finally data.close()
  }
}

object NeuralNetClassifier extends DefaultParamsReadable[NeuralNetClassifier] {

  private val DropoutLayer = """dropout\(\s*[0-9.eE+-]+\s*\)""".r

  override def load(path: String): NeuralNetClassifier = super.load(path)
}
