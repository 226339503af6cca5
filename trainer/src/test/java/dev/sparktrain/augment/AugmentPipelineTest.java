package dev.sparktrain.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktrain.UserError;
import dev.sparktrain.tensor.Rng;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parsing, canonical text, validation, binding pixel statistics, serialization and determinism of pipelines. */
class AugmentPipelineTest {
  static final String SETTING = "augment";
  static final int N = 6, C = 3, H = 8, W = 8, SIZE = C * H * W;

  static float[] batch() {
    Rng rng = new Rng(21);
    float[] x = new float[N * SIZE];
    for (int k = 0; k < x.length; k++) x[k] = (float) rng.nextGaussian();
    return x;
  }

  static PixelMoments moments(float[] batch) {
    PixelMoments m = new PixelMoments(C);
    for (int n = 0; n < N; n++) m.add(batch, n * SIZE, C, H, W);
    return m;
  }

  static float[] augmented(AugmentPipeline p, long seed, long step) {
    float[] x = batch(), scratch = new float[SIZE];
    for (int n = 0; n < N; n++) p.apply(x, n * SIZE, C, H, W, Rng.derive(seed, Rng.AUGMENT, step, n), scratch);
    return x;
  }

  @Test
  void sameSeedGivesABitIdenticalBatchAndAnotherSeedDoesNot() {
    AugmentPipeline p = AugmentPipeline.parse("crop(2), flip, scale_crop(0.7), jitter(0.2, 0.2), lighting(0.1)",
        SETTING).withPixelStatistics(moments(batch()));
    assertFalse(p.needsPixelStatistics());
    float[] a = augmented(p, 42, 3), b = augmented(p, 42, 3);
    assertArrayEquals(a, b);
    assertFalse(Arrays.equals(a, augmented(p, 43, 3)), "seed 43 gave the same batch as seed 42");
    assertFalse(Arrays.equals(a, augmented(p, 42, 4)), "step 4 gave the same batch as step 3");
    assertFalse(Arrays.equals(a, batch()), "the pipeline did nothing");
  }

  @Test
  void survivesJavaSerializationAndAppliesIdentically() throws Exception {
    AugmentPipeline p = AugmentPipeline.parse("flip(0.3), crop(1), lighting(0.2)", SETTING)
        .withPixelStatistics(moments(batch()));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(p);
    }
    AugmentPipeline copy;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      copy = (AugmentPipeline) in.readObject();
    }
    assertEquals(p, copy);
    assertArrayEquals(augmented(p, 7, 1), augmented(copy, 7, 1));
  }

  @Test
  void emptyOrNoneIsNoOps() {
    for (String text : new String[] {"", "  ", "none", "NONE"}) {
      AugmentPipeline p = AugmentPipeline.parse(text, SETTING);
      assertTrue(p.isEmpty(), text);
      assertEquals("none", p.toString());
      assertArrayEquals(batch(), augmented(p, 1, 1));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"crop(2), flip", "flip(0.25)", "scale_crop(0.8)", "jitter(0.2, 0.1)", "lighting(0.1)",
      "flip, crop(4), jitter(0.0, 0.5), scale_crop(1.0), lighting(1.0E-4)"})
  void toStringRoundTripsThroughParse(String text) {
    AugmentPipeline p = AugmentPipeline.parse(text, SETTING);
    assertEquals(text, p.toString());
    assertEquals(p, AugmentPipeline.parse(p.toString(), SETTING));
  }

  @Test
  void parseIsLenientAboutSpacingAndCaseAndFillsTheFlipDefault() {
    AugmentPipeline p = AugmentPipeline.parse("  Crop( 2 ) ,FLIP,jitter(0.2,0.2)", SETTING);
    assertEquals(List.of(new Augmentation.Crop(2), new Augmentation.Flip(0.5), new Augmentation.Jitter(0.2, 0.2)),
        p.ops());
    assertEquals("crop(2), flip, jitter(0.2, 0.2)", p.toString());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "crop(-1)| augment: crop(-1): pad must be ≥ 0",
      "flip(1.5)| augment: flip(1.5): p must be in [0, 1]",
      "scale_crop(0)| augment: scale_crop(0.0): minScale must be in (0, 1]",
      "jitter(0.2, 2)| augment: jitter(0.2, 2.0): contrast must be in [0, 1]",
      "jitter(-0.1, 0)| augment: jitter(-0.1, 0.0): brightness must be ≥ 0",
      "lighting(-1)| augment: lighting(-1.0): sigma must be ≥ 0",
      "crop(x)| augment: bad number in 'crop(x)'",
      "crop(1.5)| augment: bad number in 'crop(1.5)'",
      "crop| augment: 'crop' takes 1 argument, got 0",
      "jitter(0.2)| augment: 'jitter(0.2)' takes 2 arguments, got 1",
      "crop(2), none| augment: 'none' cannot be combined with other augmentations",
      "rotate(10)| augment: unknown augmentation 'rotate'",
      "flip, , crop(1)| augment: cannot parse augmentation ''",
  })
  void parseErrorsNameTheSettingAndTheBadItem(String text, String expectedStart) {
    UserError e = assertThrows(UserError.class, () -> AugmentPipeline.parse(text, SETTING));
    assertTrue(e.getMessage().startsWith(expectedStart.trim()), "message: " + e.getMessage());
  }

  @Test
  void validateForRejectsLightingWithoutRgbAndCropsAsLargeAsTheImage() {
    AugmentPipeline.parse("crop(3), lighting(0.1)", SETTING).validateFor(3, 4, 4, SETTING);
    UserError grey = assertThrows(UserError.class,
        () -> AugmentPipeline.parse("lighting(0.1)", SETTING).validateFor(1, 28, 28, SETTING));
    assertEquals("augment: lighting(0.1) needs 3 (RGB) channels, but the examples have 1", grey.getMessage());
    UserError big = assertThrows(UserError.class,
        () -> AugmentPipeline.parse("crop(4)", SETTING).validateFor(3, 4, 8, SETTING));
    assertEquals("augment: crop(4): pad must be less than the image size 4×8", big.getMessage());
  }

  @Test
  void bindingPixelStatisticsTouchesOnlyLighting() {
    AugmentPipeline plain = AugmentPipeline.parse("crop(2), flip", SETTING);
    assertFalse(plain.needsPixelStatistics());
    assertSame(plain, plain.withPixelStatistics(moments(batch())));
    AugmentPipeline lit = AugmentPipeline.parse("flip, lighting(0.1)", SETTING);
    assertTrue(lit.needsPixelStatistics());
    AugmentPipeline bound = lit.withPixelStatistics(moments(batch()));
    assertEquals(lit.toString(), bound.toString());
    assertEquals(lit.ops().get(0), bound.ops().get(0));
    Augmentation.Lighting l = (Augmentation.Lighting) bound.ops().get(1);
    assertTrue(l.isBound());
    assertEquals(0.1, l.sigma());
    assertTrue(lit.needsPixelStatistics(), "binding must not change the original");
  }
}
