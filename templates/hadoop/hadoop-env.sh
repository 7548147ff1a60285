# hadoop-env.sh for Hadoop {{ version | comment }}, cluster {{ cluster | comment }}, host {{ host.name | comment }}.
# Written by stackctl: edit the inventory, not this file.
export JAVA_HOME={{ host.java_home | shell_quote }}
export HADOOP_CONF_DIR={{ c.conf_dir | shell_quote }}
export HADOOP_LOG_DIR={{ c.log_dir | shell_quote }}
export HADOOP_PID_DIR={{ c.pid_dir | shell_quote }}
{%- if c.line < 3 %}
export YARN_CONF_DIR={{ c.conf_dir | shell_quote }}
export YARN_LOG_DIR={{ c.log_dir | shell_quote }}
export YARN_PID_DIR={{ c.pid_dir | shell_quote }}
{%- endif %}
{%- if c.heap %}
export {{ c.heap.var }}={{ c.heap.value | shell_quote }}
{%- endif %}
{%- if c.krb5 %}
# Kerberos realm and KDC given explicitly (also the fix for "Unable to load realm info from SCDynamicStore").
export HADOOP_OPTS="$HADOOP_OPTS -Djava.security.krb5.realm="{{ c.krb5.realm | shell_quote }}" -Djava.security.krb5.kdc="{{ c.krb5.kdc | shell_quote }}
{%- endif %}
{%- if c.jvm_opts %}
export HADOOP_OPTS="$HADOOP_OPTS "{{ c.jvm_opts | shell_quote }}
{%- endif %}
{%- if c.root_user %}
# Hadoop 3 refuses to start daemons as root unless told which user runs each one.
export HDFS_NAMENODE_USER={{ c.root_user }}
export HDFS_DATANODE_USER={{ c.root_user }}
export HDFS_SECONDARYNAMENODE_USER={{ c.root_user }}
export YARN_RESOURCEMANAGER_USER={{ c.root_user }}
export YARN_NODEMANAGER_USER={{ c.root_user }}
{%- endif %}
