package dev.sparktrain.spark;

import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * The driver's Hadoop configuration as plain strings, so that executors open files with the same settings
 * (s3a credentials, hdfs name nodes) that the user gave through spark.hadoop.*.
 */
final class HadoopConf implements Serializable {
  private static final long serialVersionUID = 1L;
  private final Map<String, String> entries = new HashMap<>();
  private transient Configuration conf;

  HadoopConf(Configuration source) {
    source.forEach(e -> entries.put(e.getKey(), e.getValue()));
    this.conf = source;
  }

  Configuration get() {
    if (conf == null) {
      Configuration c = new Configuration(false);
      entries.forEach(c::set);
      conf = c;
    }
    return conf;
  }
}
