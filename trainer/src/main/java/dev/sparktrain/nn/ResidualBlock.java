package dev.sparktrain.nn;

import dev.sparktrain.tensor.Conv2dShape;
import dev.sparktrain.tensor.Rng;

/**
 * A residual block (He et al. 2016) with optional stochastic depth (Huang et al. 2016):
 * <pre>
 *   F(x)  = BN(conv3×3(ReLU(BN(conv3×3/stride(x)))))
 *   S(x)  = x, or BN(conv1×1/stride(x)) when the channels or the stride change
 *   train: y = ReLU(b·F(x) + S(x)),   b ~ Bernoulli(survival), one draw per step and block
 *   test:  y = ReLU(survival·F(x) + S(x))
 * </pre>
 * b comes from (seed, STOCHASTIC_DEPTH, step, layer), the same in every partition (the paper drops a block for
 * the whole minibatch), and a dropped block skips its branch's computation and its BN statistics that step.
 * The slice holds, in order: conv1, bn1, conv2, bn2, then the projection's conv and bn if there is one.
 */
public final class ResidualBlock extends Layer {
  private final Layer[] main;
  private final Layer[] shortcut;
  private final int[] mainOff;
  private final int[] shortOff;
  /** main then shortcut, with their offsets in the slice: the order of the statistics. */
  private final Layer[] all;
  private final int[] allOff;
  private final int paramCount;
  private final double survival;
  private final int layerIndex;
  private StepContext context = StepContext.NONE;
  private boolean kept;
  private final float[][] mainInputs;
  private final float[][] shortInputs;
  private float[] gradPre = new float[0];

  public ResidualBlock(Shape in, LayerSpec.Residual spec, LayerSpec.Context c) {
    super(in.size(), spec.outShape(in).size());
    int k = spec.channels(), stride = spec.stride();
    Shape mid = spec.outShape(in);
    main = new Layer[] {
        new Conv2dLayer(new Conv2dShape(in.c(), in.h(), in.w(), k, 3, 3, stride, 1), c.init(), c.gemm()),
        new BatchNormLayer(mid, 0.1),
        new Relu(mid.size()),
        new Conv2dLayer(new Conv2dShape(k, mid.h(), mid.w(), k, 3, 3, 1, 1), c.init(), c.gemm()),
        new BatchNormLayer(mid, 0.1)};
    shortcut = spec.projects(in) ? new Layer[] {
        new Conv2dLayer(new Conv2dShape(in.c(), in.h(), in.w(), k, 1, 1, stride, 0), c.init(), c.gemm()),
        new BatchNormLayer(mid, 0.1)} : new Layer[0];
    mainOff = new int[main.length];
    shortOff = new int[shortcut.length];
    int off = 0;
    for (int i = 0; i < main.length; i++) { mainOff[i] = off; off += main[i].paramCount(); }
    for (int i = 0; i < shortcut.length; i++) { shortOff[i] = off; off += shortcut[i].paramCount(); }
    paramCount = off;
    all = java.util.Arrays.copyOf(main, main.length + shortcut.length);
    System.arraycopy(shortcut, 0, all, main.length, shortcut.length);
    allOff = java.util.Arrays.copyOf(mainOff, mainOff.length + shortOff.length);
    System.arraycopy(shortOff, 0, allOff, mainOff.length, shortOff.length);
    survival = c.survival();
    layerIndex = c.index();
    mainInputs = new float[main.length][];
    shortInputs = new float[shortcut.length][];
  }

  public double survival() { return survival; }

  @Override public void setContext(StepContext context) { this.context = context; }

  @Override public int paramCount() { return paramCount; }

  @Override public void init(float[] params, int off, Rng rng) {
    for (int i = 0; i < all.length; i++) all[i].init(params, off + allOff[i], rng);
  }

  @Override public void markDecayed(boolean[] mask, int off) {
    for (int i = 0; i < all.length; i++) all[i].markDecayed(mask, off + allOff[i]);
  }

  @Override public void markState(boolean[] mask, int off) {
    for (int i = 0; i < all.length; i++) all[i].markState(mask, off + allOff[i]);
  }

  /** Whether the residual branch survives the current training step. */
  boolean survives() {
    return survival >= 1 || Rng.derive(context.seed(), Rng.STOCHASTIC_DEPTH, context.step(), layerIndex).nextDouble() < survival;
  }

  @Override public float[] forward(float[] p, int pOff, float[] x, int n, boolean training) {
    ensure(n);
    int len = n * outSize;
    float[] s = x;
    for (int i = 0; i < shortcut.length; i++) {
      shortInputs[i] = s;
      s = shortcut[i].forward(p, pOff + shortOff[i], s, n, training);
    }
    kept = !training || survives();
    if (!kept) {
      for (int i = 0; i < len; i++) out[i] = s[i] > 0 ? s[i] : 0f;
      return out;
    }
    float[] f = x;
    for (int i = 0; i < main.length; i++) {
      mainInputs[i] = f;
      f = main[i].forward(p, pOff + mainOff[i], f, n, training);
    }
    float scale = training ? 1f : (float) survival;
    for (int i = 0; i < len; i++) {
      float v = scale * f[i] + s[i];
      out[i] = v > 0 ? v : 0f;
    }
    return out;
  }

  @Override public float[] backward(float[] p, int pOff, float[] grad, int gOff, float[] x, float[] gradOut, int n,
                                    boolean needGradIn) {
    ensure(n);
    int len = n * outSize;
    if (gradPre.length < len) gradPre = new float[len];
    for (int i = 0; i < len; i++) gradPre[i] = out[i] > 0 ? gradOut[i] : 0f;
    float[] gMain = null;
    if (kept) {
      gMain = gradPre;
      for (int i = main.length - 1; i >= 0; i--) {
        gMain = main[i].backward(p, pOff + mainOff[i], grad, gOff + mainOff[i], mainInputs[i], gMain, n,
            i > 0 || needGradIn);
      }
    } else {
      java.util.Arrays.fill(grad, gOff, gOff + (shortcut.length > 0 ? shortOff[0] : paramCount), 0f);
    }
    float[] gShort = gradPre;
    for (int i = shortcut.length - 1; i >= 0; i--) {
      gShort = shortcut[i].backward(p, pOff + shortOff[i], grad, gOff + shortOff[i], shortInputs[i], gShort, n,
          i > 0 || needGradIn);
    }
    if (!needGradIn) return gradIn;
    int inLen = n * inSize;
    if (gMain == null) System.arraycopy(gShort, 0, gradIn, 0, inLen);
    else for (int i = 0; i < inLen; i++) gradIn[i] = gMain[i] + gShort[i];
    return gradIn;
  }

  @Override public int statsCount() {
    int total = 0;
    for (Layer l : all) total += l.statsCount();
    return total;
  }

  @Override public void addStats(double[] dst, int off) {
    for (Layer l : all) {
      l.addStats(dst, off);
      off += l.statsCount();
    }
  }

  @Override public void updateRunning(float[] prev, float[] next, int pOff, double[] stats, int off) {
    for (int i = 0; i < all.length; i++) {
      all[i].updateRunning(prev, next, pOff + allOff[i], stats, off);
      off += all[i].statsCount();
    }
  }
}
