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
    private val members: Array[Array[Float]], val standardizer: FeatureStats.Standardizer,
    val trainingConfig: java.util.Map[String, String])
    extends ProbabilisticClassificationModel[Vector, NeuralNetClassificationModel] with MLWritable {

  override def numClasses: Int = spec.numClasses()
  override def numFeatures: Int = spec.inputSize()

  /** The flat parameter vector (a copy); of the first member for an ensemble. */
  def parameters: Array[Float] = members(0).clone()

  /** How many networks the model averages (numMembers). */
  def numMembers: Int = members.length

  /** Member i's flat parameter vector (a copy). */
  def memberParameters(i: Int): Array[Float] = members(i).clone()

  override def predictRaw(features: Vector): Vector = {
    val p = NeuralNetClassificationModel.probabilities(spec, members, standardizer, Array(features))
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
    val bc = in.sparkSession.sparkContext.broadcast(members)
    val (s, std) = (spec, standardizer)
    in.mapPartitions { rows: Iterator[Row] =>
      rows.grouped(256).flatMap { group =>
        val probs = NeuralNetClassificationModel.probabilities(s, bc.value, std,
          group.map(_.getAs[Vector](fIndex)).toArray)
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
    copyValues(new NeuralNetClassificationModel(uid, spec, members, standardizer, trainingConfig), extra).setParent(parent)

  override def write: MLWriter = new NeuralNetClassificationModel.Writer(this)

  override def toString: String = s"NeuralNetClassificationModel: uid=$uid, layers=${spec.layersText()}, " +
    s"numClasses=$numClasses, numFeatures=$numFeatures"
}

object NeuralNetClassificationModel extends MLReadable[NeuralNetClassificationModel] {
  val Format = "sparktrain-spark-ml-model"
  val FormatVersion = 1
  private val Json = new ObjectMapper()

  /**
   * Class probabilities, row-major n × k, of the feature vectors standardized as in training; for several members
   * the mean of their probabilities, summed in member order.
   */
  private[ml] def probabilities(spec: ModelSpec, members: Array[Array[Float]], std: FeatureStats.Standardizer,
      rows: Array[Vector]): Array[Float] = {
    val d = spec.inputSize()
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
    val standardized = block.standardized(std)
    if (members.length == 1) return GradientTask.probabilities(spec, members(0), standardized, TestTimeAugmentation.NONE, 0)
    val sum = new Array[Double](rows.length * spec.numClasses())
    for (m <- members) {
      val p = GradientTask.probabilities(spec, m, standardized, TestTimeAugmentation.NONE, 0)
      var j = 0
      while (j < p.length) { sum(j) += p(j); j += 1 }
    }
    sum.map(v => (v / members.length).toFloat)
  }

  /** Where member i of n is saved: data/model.stm for one network (a file the CLI reads), data/member-i.stm. */
  private def memberFile(i: Int, n: Int): String = if (n == 1) "data/model.stm" else s"data/member-$i.stm"

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
      m.put("numMembers", model.numMembers)
      sc.parallelize(Seq(Json.writeValueAsString(m)), 1).saveAsTextFile(new Path(path, "metadata").toString)
      for (i <- model.members.indices) {
        new SavedModel(model.spec, model.members(i), model.standardizer, model.trainingConfig,
          java.util.Map.of("spark_ml_uid", model.uid), java.util.Map.of[String, java.lang.Double](), null)
          .save(new Path(path, NeuralNetClassificationModel.memberFile(i, model.numMembers)).toString, sc.hadoopConfiguration)
      }
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
      val n = Option(m.get("numMembers")).map(_.asInt()).getOrElse(1)
      if (n < 1 || n > 10000) throw new IllegalArgumentException(s"$metaPath: numMembers $n")
      val saved = (0 until n).map { i =>
        val file = memberFile(i, n)
        val s = SavedModel.load(new Path(path, file).toString, sc.hadoopConfiguration)
        if (s.spec().numClasses() != field("numClasses").asInt() || s.spec().inputSize() != field("numFeatures").asInt()
            || s.spec().layersText() != field("layers").asText()) {
          throw new IllegalArgumentException(s"$path: $file has ${s.spec().numClasses()} classes, " +
            s"${s.spec().inputSize()} features and layers ${s.spec().layersText()}; the metadata says " +
            s"${m.get("numClasses")}, ${m.get("numFeatures")} and ${m.get("layers")}")
        }
        s
      }
      val model = new NeuralNetClassificationModel(field("uid").asText(), saved.head.spec(), saved.map(_.params()).toArray,
        saved.head.standardizer(), saved.head.config())
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
