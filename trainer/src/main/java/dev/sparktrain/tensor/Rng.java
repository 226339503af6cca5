package dev.sparktrain.tensor;

/**
 * A small, fully specified random generator (SplitMix64), so that a seed gives the same stream on every JVM
 * and every Spark executor. Streams are derived with {@link #derive}, never shared between tasks.
 */
public final class Rng {
  /**
   * Purposes of derived streams; a new purpose gets a new constant, never a reused one. HOLDOUT is the test split
   * of a converted data set (data/MnistJson), OFFLINE_AUGMENT the augmented copies that spark/LargeDatasetJob writes.
   */
  public static final long INIT = 1, SHUFFLE = 2, SPLIT = 3, DROPOUT = 4, AUGMENT = 5, DROPCONNECT = 6,
      FRACTIONAL_POOL = 7, STOCHASTIC_DEPTH = 8, HOLDOUT = 9, OFFLINE_AUGMENT = 10,
      /** The few-examples-per-class draw (data.per_class). */
      SUBSET = 11;

  private long state;
  private double spareGaussian = Double.NaN;

  public Rng(long seed) {
    this.state = seed;
  }

  /** A stream for (seed, purpose, a, b, c), e.g. (seed, DROPOUT, iteration, partition, layer). */
  public static Rng derive(long seed, long purpose, long... keys) {
    long h = mix(seed ^ 0x9E3779B97F4A7C15L * (purpose + 1));
    for (long key : keys) h = mix(h ^ mix(key + 0x632BE59BD9B4E019L));
    return new Rng(h);
  }

  /** The SplitMix64 finalizer: a bijective 64-bit mix. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  public long nextLong() {
    state += 0x9E3779B97F4A7C15L;
    return mix(state);
  }

  /** Uniform in [0, bound), without modulo bias (Lemire's method). */
  public int nextInt(int bound) {
    if (bound <= 0) throw new IllegalArgumentException("bound must be positive: " + bound);
    long m = (nextLong() >>> 32) * bound;
    if ((m & 0xFFFFFFFFL) < bound) {
      long t = (0x100000000L - bound) % bound;
      while ((m & 0xFFFFFFFFL) < t) m = (nextLong() >>> 32) * bound;
    }
    return (int) (m >>> 32);
  }

  /** Uniform in [0, 1) with 24 random bits. */
  public float nextFloat() {
    return (nextLong() >>> 40) * 0x1.0p-24f;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }

  /** Standard normal, by the Box–Muller transform. */
  public double nextGaussian() {
    if (!Double.isNaN(spareGaussian)) {
      double g = spareGaussian;
      spareGaussian = Double.NaN;
      return g;
    }
    double u1 = 1.0 - nextDouble(), u2 = nextDouble();
    double r = Math.sqrt(-2 * Math.log(u1));
    spareGaussian = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  public int[] permutation(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
