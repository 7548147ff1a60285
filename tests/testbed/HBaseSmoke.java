// Tiny HBase client used by dists-smoke.sh: create a table, put a row, get it.
// Usage: java -cp <hbase conf>:<hbase lib>/* HBaseSmoke <zk quorum>
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Get;
import org.apache.hadoop.hbase.client.Put;
import org.apache.hadoop.hbase.client.Result;
import org.apache.hadoop.hbase.client.Table;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;
import org.apache.hadoop.hbase.util.Bytes;

public class HBaseSmoke {
  public static void main(String[] args) throws Exception {
    Configuration conf = HBaseConfiguration.create();
    conf.set("hbase.zookeeper.quorum", args[0]);
    conf.setInt("hbase.client.retries.number", 10);
    conf.setInt("hbase.client.operation.timeout", 60000);
    TableName t = TableName.valueOf("stackctl_smoke");
    byte[] cf = Bytes.toBytes("f");
    try (Connection c = ConnectionFactory.createConnection(conf); Admin admin = c.getAdmin()) {
      if (!admin.tableExists(t)) {
        admin.createTable(TableDescriptorBuilder.newBuilder(t)
            .setColumnFamily(ColumnFamilyDescriptorBuilder.of(cf)).build());
      }
      try (Table table = c.getTable(t)) {
        table.put(new Put(Bytes.toBytes("row1")).addColumn(cf, Bytes.toBytes("q"), Bytes.toBytes("hello-hbase")));
        Result r = table.get(new Get(Bytes.toBytes("row1")));
        String v = Bytes.toString(r.getValue(cf, Bytes.toBytes("q")));
        System.out.println("GOT " + v);
        if (!"hello-hbase".equals(v)) System.exit(3);
      }
    }
  }
}
