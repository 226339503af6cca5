package dev.sparktrain.spark

import breeze.linalg.{DenseVector => BDV}
import breeze.optimize.DiffFunction

/**
 * A Breeze DiffFunction over plain arrays, for Java callers: Breeze's apply() is final and specialised to return a
 * primitive double, and only scalac emits the generic bridge Function1 needs, so Java passes an Evaluator instead
 * of subclassing.
 */
final class ArrayDiffFunction(evaluator: ArrayDiffFunction.Evaluator) extends DiffFunction[BDV[Double]] {
  override def calculate(x: BDV[Double]): (Double, BDV[Double]) = {
    val grad = new Array[Double](x.length)
    val value = evaluator.valueAndGradient(x.toArray, grad)
    (value, BDV(grad))
  }
}

object ArrayDiffFunction {
  /** The value at x; writes the gradient into grad (same length as x). */
  trait Evaluator {
    def valueAndGradient(x: Array[Double], grad: Array[Double]): Double
  }
}
