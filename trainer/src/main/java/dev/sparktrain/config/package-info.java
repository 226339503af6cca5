/**
 * Job configuration: a flat {@code key = value} file with command-line overrides, read through
 * {@link dev.sparktrain.config.SettingsTable} (each setting declared once: default, validation, resolved form,
 * resume policy) into records that validate in their constructors and name the bad setting and where it came from.
 */
package dev.sparktrain.config;
