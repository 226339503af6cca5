package dev.sparktrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktrain.UserError;
import dev.sparktrain.optim.Blocks;
import dev.sparktrain.optim.GradientTransform;
import dev.sparktrain.optim.OptimizerSpec;
import dev.sparktrain.optim.Schedules;
import dev.sparktrain.optim.Stepper;
import dev.sparktrain.tensor.Rng;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * For every optimizer: 5 steps, the state through a tensor file, 5 more steps gives the same bits as 10 steps
 * without the interruption. A state saved for another optimizer or model size is refused with a named error.
 */
class OptimizerStateFileTest {
  static List<String> names() {
    return OptimizerSpec.NAMES;
  }

  static float[] gradient(int step, int n) {
    Rng r = Rng.derive(9, 1, step);
    float[] g = new float[n];
    for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
    return g;
  }

  static GradientTransform<?> optimizer(String name) {
    // clipping and a cosine schedule too, so that chains and step counts are part of the state
    return GradientTransform.chain(Blocks.clipByGlobalNorm(3.0),
        OptimizerSpec.defaults(name).withWeightDecay(1e-3).build(Schedules.cosine(0.01, 10, 0.001)));
  }

  @ParameterizedTest
  @MethodSource("names")
  void resumedRunIsBitIdentical(String name) {
    int n = 37;
    float[] p0 = gradient(-1, n);
    Stepper<?> straight = Stepper.start(optimizer(name), p0);
    float[] p = p0;
    for (int t = 0; t < 10; t++) p = straight.step(gradient(t, n), p);

    Stepper<?> first = Stepper.start(optimizer(name), p0);
    float[] q = p0;
    for (int t = 0; t < 5; t++) q = first.step(gradient(t, n), q);
    List<NamedTensor> tensors = new ArrayList<>(List.of(NamedTensor.vector("params", q)));
    ObjectNode meta = new ObjectMapper().createObjectNode();
    OptimizerStateFile.flatten(first.state(), "optimizer", tensors, meta.putObject("optimizer_scalars"));
    TensorFile.Contents c = TensorFile.fromBytes("ckpt", TensorFile.toBytes("sparktrain-checkpoint", meta, tensors),
        "sparktrain-checkpoint");

    resume(name, n, c, q);
    float[] r = c.values("params");
    Stepper<?> resumed = resume(name, n, c, r);
    for (int t = 5; t < 10; t++) r = resumed.step(gradient(t, n), r);
    assertArrayEquals(p, r, name);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Stepper<?> resume(String name, int n, TensorFile.Contents c, float[] params) {
    GradientTransform t = optimizer(name);
    Object state = OptimizerStateFile.restore(t.init(params), "optimizer", c.tensors(),
        c.meta().get("optimizer_scalars"), c.source());
    return Stepper.resume(t, n, state);
  }

  @ParameterizedTest
  @MethodSource("names")
  void wrongSizeOrMissingStateIsNamed(String name) {
    Stepper<?> s = Stepper.start(optimizer(name), new float[8]);
    s.step(gradient(0, 8), new float[8]);
    List<NamedTensor> tensors = new ArrayList<>();
    ObjectNode scalars = new ObjectMapper().createObjectNode();
    OptimizerStateFile.flatten(s.state(), "optimizer", tensors, scalars);
    var byName = new java.util.LinkedHashMap<String, NamedTensor>();
    for (NamedTensor t : tensors) byName.put(t.name(), t);
    if (!byName.isEmpty()) {
      UserError e = assertThrows(UserError.class, () -> OptimizerStateFile.restore(
          optimizer(name).init(new float[9]), "optimizer", byName, scalars, "ckpt.stm"));
      assertEquals(true, e.getMessage().startsWith("ckpt.stm: optimizer state '"), e.getMessage());
    }
    UserError e = assertThrows(UserError.class, () -> OptimizerStateFile.restore(
        optimizer(name).init(new float[8]), "optimizer", byName, new ObjectMapper().createObjectNode(), "ckpt.stm"));
    assertEquals(true, e.getMessage().startsWith("ckpt.stm: checkpoint has no optimizer"), e.getMessage());
  }
}
