/**
 * Job configuration: a flat {@code key = value} file with command-line overrides, parsed into records that
 * validate in their constructors and name the bad setting and where it came from.
 */
package dev.sparktrain.config;
