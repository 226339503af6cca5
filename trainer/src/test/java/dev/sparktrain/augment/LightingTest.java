package dev.sparktrain.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.tensor.Rng;
import org.junit.jupiter.api.Test;

/**
 * PCA lighting end to end: RGB pixels with a known covariance Q diag(λ) Qᵀ → {@link PixelMoments} → Jacobi
 * {@link SymmetricEigen} → {@link Augmentation.Lighting}, whose δ must have covariance V diag(σ²λ²) Vᵀ.
 */
class LightingTest {
  static final double[] LAMBDA = {4, 1, 0.25};

  /** A rotation, so its columns are the known eigenvectors. */
  static double[][] rotation() {
    double a = 0.6, b = -0.9;
    double[][] rz = {{Math.cos(a), -Math.sin(a), 0}, {Math.sin(a), Math.cos(a), 0}, {0, 0, 1}};
    double[][] rx = {{1, 0, 0}, {0, Math.cos(b), -Math.sin(b)}, {0, Math.sin(b), Math.cos(b)}};
    double[][] q = new double[3][3];
    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 3; k++) q[i][j] += rz[i][k] * rx[k][j];
    return q;
  }

  /** n images 3×16×16 whose pixels are Q diag(√λ) z + mean, z standard normal. */
  static PixelMoments momentsOfKnownData(int images) {
    double[][] q = rotation();
    double[] mean = {0.3, -0.2, 0.1};
    Rng rng = new Rng(11);
    int h = 16, w = 16, plane = h * w;
    PixelMoments total = new PixelMoments(3);
    for (int n = 0; n < images; n++) {
      float[] img = new float[5 + 3 * plane];
      for (int p = 0; p < plane; p++) {
        double[] z = {rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()};
        for (int c = 0; c < 3; c++) {
          double v = mean[c];
          for (int k = 0; k < 3; k++) v += q[c][k] * Math.sqrt(LAMBDA[k]) * z[k];
          img[5 + c * plane + p] = (float) v;
        }
      }
      // each image in its own accumulator, merged as a Spark aggregate would
      PixelMoments one = new PixelMoments(3).add(img, 5, 3, h, w);
      total.merge(one);
    }
    return total;
  }

  @Test
  void covarianceEigenDecompositionRecoversTheKnownAxes() {
    PixelMoments m = momentsOfKnownData(80); // 20480 pixels
    assertEquals(80 * 256, m.count());
    double[][] cov = m.covariance();
    SymmetricEigen eig = SymmetricEigen.of(cov);
    double[][] q = rotation();
    for (int k = 0; k < 3; k++) {
      double[] v = eig.vectors()[k];
      double norm = 0;
      for (int i = 0; i < 3; i++) norm += v[i] * v[i];
      assertEquals(1, norm, 1e-12, "|v_" + k + "|²");
      for (int i = 0; i < 3; i++) {
        double av = 0;
        for (int j = 0; j < 3; j++) av += cov[i][j] * v[j];
        assertEquals(eig.values()[k] * v[i], av, 1e-10, "(A v - λ v)_" + i + " for k=" + k);
      }
      assertEquals(LAMBDA[k], eig.values()[k], 0.05 * LAMBDA[k], "eigenvalue " + k);
      double dot = 0;
      for (int i = 0; i < 3; i++) dot += v[i] * q[i][k];
      assertTrue(Math.abs(dot) > 0.99, "eigenvector " + k + " vs known axis: |cos| = " + Math.abs(dot));
    }
  }

  @Test
  void jacobiOnAnArbitrarySymmetricMatrixAndOnTheIdentity() {
    double[][] a = {{2, -1, 0.5}, {-1, 3, 0.25}, {0.5, 0.25, -1}};
    SymmetricEigen eig = SymmetricEigen.of(a);
    double trace = 0;
    for (int k = 0; k < 3; k++) {
      trace += eig.values()[k];
      if (k > 0) assertTrue(eig.values()[k - 1] >= eig.values()[k], "descending");
      for (int i = 0; i < 3; i++) {
        double av = 0;
        for (int j = 0; j < 3; j++) av += a[i][j] * eig.vectors()[k][j];
        assertEquals(eig.values()[k] * eig.vectors()[k][i], av, 1e-12);
      }
    }
    assertEquals(4, trace, 1e-12);
    SymmetricEigen id = SymmetricEigen.of(new double[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
    for (double v : id.values()) assertEquals(1, v, 0);
    assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[][] {{1, 2}, {0, 1}}));
  }

  @Test
  void deltaIsOneVectorPerImageWithCovarianceVDiagSigmaSquaredLambdaSquaredVt() {
    SymmetricEigen eig = SymmetricEigen.of(momentsOfKnownData(20).covariance());
    double sigma = 0.1;
    Augmentation.Lighting lighting = new Augmentation.Lighting(sigma, eig.values(), eig.vectors());
    int h = 2, w = 3, plane = h * w, draws = 20000;
    double[][] second = new double[3][3];
    double[] sum = new double[3];
    Rng rng = new Rng(12);
    float[] img = new float[3 * plane], scratch = new float[3 * plane];
    for (int d = 0; d < draws; d++) {
      java.util.Arrays.fill(img, 0f);
      lighting.apply(img, 0, 3, h, w, rng, scratch);
      double[] delta = {img[0], img[plane], img[2 * plane]};
      for (int c = 0; c < 3; c++) {
        for (int p = 0; p < plane; p++) assertEquals(img[c * plane], img[c * plane + p], 0, "δ differs at " + p);
        sum[c] += delta[c];
        for (int c2 = 0; c2 < 3; c2++) second[c][c2] += delta[c] * delta[c2];
      }
    }
    double[][] expected = new double[3][3];
    double largest = 0;
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        for (int k = 0; k < 3; k++) {
          double l = eig.values()[k];
          expected[i][j] += sigma * sigma * l * l * eig.vectors()[k][i] * eig.vectors()[k][j];
        }
        largest = Math.max(largest, Math.abs(expected[i][j]));
      }
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(0, sum[i] / draws, 0.05 * Math.sqrt(largest), "mean of δ_" + i);
      for (int j = 0; j < 3; j++) {
        double empirical = second[i][j] / draws - (sum[i] / draws) * (sum[j] / draws);
        assertEquals(expected[i][j], empirical, 0.05 * largest, "Cov(δ)[" + i + "][" + j + "]");
      }
    }
  }

  @Test
  void lightingRejectsNonRgbAndUnboundUse() {
    Augmentation.Lighting bound = new Augmentation.Lighting(0.1, new double[] {1, 1, 1},
        new double[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}});
    assertThrows(IllegalArgumentException.class, () -> bound.apply(new float[4], 0, 1, 2, 2, new Rng(1), new float[4]));
    assertThrows(IllegalStateException.class,
        () -> new Augmentation.Lighting(0.1).apply(new float[12], 0, 3, 2, 2, new Rng(1), new float[12]));
  }

  @Test
  void momentsMergeEqualsAddingEverything() {
    float[] a = {1, 2, 3, 4, 5, 6}, b = {-1, 0.5f, 2, 7, 1, -3}; // each 3×1×2
    PixelMoments both = new PixelMoments(3).add(a, 0, 3, 1, 2).add(b, 0, 3, 1, 2);
    PixelMoments merged = new PixelMoments(3).add(a, 0, 3, 1, 2).merge(new PixelMoments(3).add(b, 0, 3, 1, 2));
    assertEquals(4, merged.count());
    double[][] c1 = both.covariance(), c2 = merged.covariance();
    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) assertEquals(c1[i][j], c2[i][j], 1e-12);
    // channel 0 pixels: 1, 2, -1, 0.5 → mean 0.625, population variance 1.171875
    assertEquals(1.171875, c1[0][0], 1e-12);
  }
}
