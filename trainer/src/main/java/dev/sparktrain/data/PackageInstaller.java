package dev.sparktrain.data;

/**
 * A way to install a system package that ships a dataset: {@link AptInstaller} in production, {@link #none()} to
 * skip this step, or a {@link CommandInstaller} running a fake script in tests.
 */
@FunctionalInterface
public interface PackageInstaller {
  /**
   * Tries to install the package and says whether the installer reported success. It must not throw for an
   * ordinary failure (no permission, no such package, no network): it logs why and returns false.
   */
  boolean install(String packageName);

  /** An installer that never installs anything. */
  static PackageInstaller none() {
    return packageName -> false;
  }
}
