/** The command-line tool: train, evaluate, predict and fetch, each ending with one JSON line on stdout. */
package dev.sparktrain.cli;
