package dev.sparktrain.spark.ml

import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.node.ObjectNode
import dev.sparktrain.data.{DataBlock, FeatureStats}
import dev.sparktrain.io.SavedModel
import dev.sparktrain.nn.ModelSpec
import dev.sparktrain.train.GradientTask
import dev.sparktrain.augment.TestTimeAugmentation
import org.apache.hadoop.fs.Path
import org.apache.spark.ml.classification.ProbabilisticClassificationModel
import org.apache.spark.ml.linalg.{DenseVector, Vector, Vectors}
import org.apache.spark.ml.param.ParamMap
import org.apache.spark.ml.util.{MLReadable, MLReader, MLWritable, MLWriter}
import org.apache.spark.sql.{DataFrame, Dataset, Encoders, Row}

import scala.jdk.CollectionConverters._

/**
 * A fitted [[NeuralNetClassifier]]: the network, its flat parameter vector and the standardizer of its training
 * data. `transform` predicts in batches of 256 rows per task, with the parameters broadcast once, keeping every
 * row and its order; `rawPrediction` holds log-probabilities, `probability` the softmax, `prediction` the most
 * probable class (thresholds, when set, follow spark.ml's own rule).
 *
 * Saved as Spark ML's layout: `metadata/` (class, uid, Spark version, params, and this format's name and version)
 * and `data/model.stm`, the project's checksummed tensor file (docs/model-format.md); no Java serialization.
 */
class NeuralNetClassificationModel private[ml] (override val uid: String, val spec: ModelSpec,
    private val weights: Array[Float], val standardizer: FeatureStats.Standardizer,
    val trainingConfig: java.util.Map[String, String])
    extends ProbabilisticClassificationModel[Vector, NeuralNetClassificationModel] with MLWritable {

  override def numClasses: Int = spec.numClasses()
  override def numFeatures: Int = spec.inputSize()

  /** The flat parameter vector (a copy). */
  def parameters: Array[Float] = weights.clone()

  override def predictRaw(features: Vector): Vector = {
    val p = NeuralNetClassificationModel.probabilities(spec, weights, standardizer, Array(features))
    Vectors.dense(p.map(v => math.log(v.toDouble)))
  }

  override protected def raw2probabilityInPlace(rawPrediction: Vector): Vector = rawPrediction match {
    case dv: DenseVector =>
      val v = dv.values
      val m = v.max
      var s = 0.0
      var i = 0
      while (i < v.length) { v(i) = math.exp(v(i) - m); s += v(i); i += 1 }
      i = 0
      while (i < v.length) { v(i) /= s; i += 1 }
      dv
    case other => throw new IllegalArgumentException(s"rawPrediction must be dense, got ${other.getClass.getSimpleName}")
  }

  override def transform(dataset: Dataset[_]): DataFrame = {
    if (isDefined(thresholds)) return super.transform(dataset)
    val outSchema = transformSchema(dataset.schema, logging = true)
    val in = dataset.toDF()
    val added = outSchema.fields.drop(in.schema.length).map(_.name)
    if (added.isEmpty) return in
    val fIndex = in.schema.fieldIndex($(featuresCol))
    val names = (getRawPredictionCol, getProbabilityCol, getPredictionCol)
    val bc = in.sparkSession.sparkContext.broadcast(weights)
    val (s, std, d) = (spec, standardizer, numFeatures)
    in.mapPartitions { rows: Iterator[Row] =>
      rows.grouped(256).flatMap { group =>
        val probs = NeuralNetClassificationModel.probabilities(s, bc.value, std,
          group.map(_.getAs[Vector](fIndex)).toArray, d)
        val k = s.numClasses()
        group.iterator.zipWithIndex.map { case (row, i) =>
          val p = Array.tabulate(k)(j => probs(i * k + j).toDouble)
          var best = 0
          for (j <- 1 until k) if (p(j) > p(best)) best = j
          val extra = added.map {
            case n if n == names._1 => Vectors.dense(p.map(math.log))
            case n if n == names._2 => Vectors.dense(p)
            case _ => best.toDouble
          }
          Row.fromSeq(row.toSeq ++ extra)
        }
      }
    }(Encoders.row(outSchema))
  }

  override def copy(extra: ParamMap): NeuralNetClassificationModel =
    copyValues(new NeuralNetClassificationModel(uid, spec, weights, standardizer, trainingConfig), extra).setParent(parent)

  override def write: MLWriter = new NeuralNetClassificationModel.Writer(this)

  override def toString: String = s"NeuralNetClassificationModel: uid=$uid, layers=${spec.layersText()}, " +
    s"numClasses=$numClasses, numFeatures=$numFeatures"
}

object NeuralNetClassificationModel extends MLReadable[NeuralNetClassificationModel] {
  val Format = "sparktrain-spark-ml-model"
  val FormatVersion = 1
  private val Json = new ObjectMapper()

  /** Class probabilities, row-major n × k, of the feature vectors standardized as in training. */
  private[ml] def probabilities(spec: ModelSpec, params: Array[Float], std: FeatureStats.Standardizer,
      rows: Array[Vector], dim: Int = -1): Array[Float] = {
    val d = if (dim > 0) dim else spec.inputSize()
    val x = new Array[Float](rows.length * d)
    var i = 0
    while (i < rows.length) {
      val v = rows(i)
      if (v == null) throw new IllegalArgumentException(s"features: row ${i + 1} of a batch is null")
      if (v.size != d) throw new IllegalArgumentException(s"features: a row has ${v.size} values, the model expects $d")
      v.foreachActive((j, value) => x(i * d + j) = value.toFloat)
      i += 1
    }
    val block = new DataBlock(rows.length, d, x, new Array[Int](rows.length), Array.tabulate(rows.length)(_.toLong))
    GradientTask.probabilities(spec, params, block.standardized(std), TestTimeAugmentation.NONE, 0)
  }

  override def read: MLReader[NeuralNetClassificationModel] = new Reader

  override def load(path: String): NeuralNetClassificationModel = super.load(path)

  private class Writer(model: NeuralNetClassificationModel) extends MLWriter {
    override protected def saveImpl(path: String): Unit = {
      val m = Json.createObjectNode()
      m.put("class", model.getClass.getName)
      m.put("timestamp", System.currentTimeMillis())
      m.put("sparkVersion", sc.version)
      m.put("uid", model.uid)
      val set = m.putObject("paramMap")
      model.extractParamMap().toSeq.filter(pp => model.isSet(pp.param)).foreach { pp =>
        set.set[ObjectNode](pp.param.name, Json.readTree(pp.param.asInstanceOf[org.apache.spark.ml.param.Param[Any]].jsonEncode(pp.value)))
      }
      val defaults = m.putObject("defaultParamMap")
      model.params.filter(p => model.hasDefault(p)).foreach { p =>
        defaults.set[ObjectNode](p.name, Json.readTree(p.asInstanceOf[org.apache.spark.ml.param.Param[Any]]
          .jsonEncode(model.getDefault(p).get)))
      }
      m.put("format", Format)
      m.put("formatVersion", FormatVersion)
      m.put("numClasses", model.numClasses)
      m.put("numFeatures", model.numFeatures)
      m.put("layers", model.spec.layersText())
      sc.parallelize(Seq(Json.writeValueAsString(m)), 1).saveAsTextFile(new Path(path, "metadata").toString)
      new SavedModel(model.spec, model.weights, model.standardizer, model.trainingConfig,
        java.util.Map.of("spark_ml_uid", model.uid), java.util.Map.of[String, java.lang.Double](), null)
        .save(new Path(path, "data/model.stm").toString, sc.hadoopConfiguration)
    }
  }

  private class Reader extends MLReader[NeuralNetClassificationModel] {
    override def load(path: String): NeuralNetClassificationModel = {
      val metaPath = new Path(path, "metadata").toString
      val text = sc.textFile(metaPath, 1).first()
      val m = Json.readTree(text)
      def field(name: String) = Option(m.get(name)).getOrElse(
        throw new IllegalArgumentException(s"$metaPath: no field '$name'"))
      val cls = field("class").asText()
      if (cls != classOf[NeuralNetClassificationModel].getName) {
        throw new IllegalArgumentException(s"$metaPath: class $cls, expected ${classOf[NeuralNetClassificationModel].getName}")
      }
      if (field("format").asText() != Format || field("formatVersion").asInt() != FormatVersion) {
        throw new IllegalArgumentException(s"$metaPath: format ${m.get("format")} version ${m.get("formatVersion")}, " +
          s"this sparktrain reads $Format version $FormatVersion")
      }
      val saved = SavedModel.load(new Path(path, "data/model.stm").toString, sc.hadoopConfiguration)
      if (saved.spec().numClasses() != field("numClasses").asInt() || saved.spec().inputSize() != field("numFeatures").asInt()) {
        throw new IllegalArgumentException(s"$path: data/model.stm has ${saved.spec().numClasses()} classes and " +
          s"${saved.spec().inputSize()} features, the metadata ${m.get("numClasses")} and ${m.get("numFeatures")}")
      }
      val model = new NeuralNetClassificationModel(field("uid").asText(), saved.spec(), saved.params(),
        saved.standardizer(), saved.config())
      def apply(node: String, default: Boolean): Unit = field(node).fields().asScala.foreach { e =>
        val p = model.getParam(e.getKey)
        val v = p.jsonDecode(Json.writeValueAsString(e.getValue))
        if (default) model.setDefault(p.asInstanceOf[org.apache.spark.ml.param.Param[Any]], v)
        else model.set(p.asInstanceOf[org.apache.spark.ml.param.Param[Any]], v)
      }
      apply("defaultParamMap", default = true)
      apply("paramMap", default = false)
      model
    }
  }
}
