/** Curves of training runs: CSV logs and plots (JFreeChart, PNG and SVG). Plain Java, no Spark. */
package dev.sparktrain.report;
