# hbase-env.sh for HBase {{ version | comment }}, cluster {{ cluster | comment }}, host {{ host.name | comment }}.
# Written by stackctl: edit the inventory, not this file.
export JAVA_HOME={{ host.java_home | shell_quote }}
# The ZooKeeper ensemble is the inventory's, shared with Kafka: HBase must not start its own.
export HBASE_MANAGES_ZK=false
export HBASE_CONF_DIR={{ c.conf_dir | shell_quote }}
# HDFS client settings (replication, NameNode address) come from Hadoop's configuration.
export HBASE_CLASSPATH={{ c.hadoop_conf_dir | shell_quote }}
export HBASE_LOG_DIR={{ c.log_dir | shell_quote }}
export HBASE_PID_DIR={{ c.pid_dir | shell_quote }}
{%- if c.heap %}
export HBASE_HEAPSIZE={{ c.heap | shell_quote }}
{%- endif %}
{%- if c.jvm_opts %}
export HBASE_OPTS="$HBASE_OPTS "{{ c.jvm_opts | shell_quote }}
{%- endif %}
