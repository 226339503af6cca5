/**
 * Curves of training runs: CSV logs and plots (JFreeChart, PNG and SVG), and the training report (metrics files
 * to one self-contained HTML page of inlined SVG charts). Plain Java, no Spark.
 */
package dev.sparktrain.report;
