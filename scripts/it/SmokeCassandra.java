// Smoke check of one integration-test server with its own client jars, run by scripts/it/smoke.sh
// through the Java source launcher (no build, no venv):
//   java -cp "$LT_IT_CACHE/cassandra/lib/*" scripts/it/SmokeCassandra.java 127.0.0.1:9042
// Prints "smoke cassandra: OK ..." and exits 0, or prints the failure and exits 1.
import java.util.*;
import java.util.concurrent.*;

public class SmokeCassandra {
  public static void main(String[] args) throws Exception {
    String id = Long.toHexString(new Random().nextLong() & Long.MAX_VALUE);
    long t0 = System.nanoTime();
    try {
      String detail = CassandraCheck.run(args.length > 0 ? args[0] : "127.0.0.1:9042", id);
      System.out.printf("smoke cassandra: OK in %.1fs: %s%n", (System.nanoTime() - t0) / 1e9, detail);
      System.exit(0);
    } catch (Throwable e) {
      System.out.println("smoke cassandra: FAILED: " + e);
      e.printStackTrace(System.out);
      System.exit(1);
    }
  }
}

// Keyspace + counter table, one counter UPDATE and a COUNTER BATCH of 500 statements, read back.
// Uses the DataStax 3.x driver shaded inside cassandra-all's dependencies (cassandra-driver-core-*-shaded).
class CassandraCheck {
  static String run(String addr, String id) throws Exception {
    String[] hp = addr.split(":");
    com.datastax.driver.core.Cluster cluster = com.datastax.driver.core.Cluster.builder()
        .addContactPoint(hp[0]).withPort(Integer.parseInt(hp[1])).withoutMetrics().withoutJMXReporting().build();
    try {
      com.datastax.driver.core.Session s = cluster.connect();
      s.execute("CREATE KEYSPACE IF NOT EXISTS lt_it_smoke WITH replication = {'class':'SimpleStrategy','replication_factor':1}");
      s.execute("CREATE TABLE IF NOT EXISTS lt_it_smoke.counts (slot bigint, tag text, n counter, PRIMARY KEY ((slot), tag))");
      com.datastax.driver.core.PreparedStatement upd =
          s.prepare("UPDATE lt_it_smoke.counts SET n = n + ? WHERE slot = ? AND tag = ?");
      long slot = Math.abs(new Random().nextLong() % 1_000_000_000L);
      s.execute(upd.bind(3L, slot, "rust"));
      com.datastax.driver.core.BatchStatement b =
          new com.datastax.driver.core.BatchStatement(com.datastax.driver.core.BatchStatement.Type.COUNTER);
      for (int i = 0; i < 500; i++) b.add(upd.bind(1L, slot, String.format("tag-%05d-%s", i, id)));
      b.add(upd.bind(2L, slot, "rust"));
      s.execute(b);
      long n = s.execute("SELECT n FROM lt_it_smoke.counts WHERE slot = " + slot + " AND tag = 'rust'").one().getLong("n");
      long rows = s.execute("SELECT count(*) FROM lt_it_smoke.counts WHERE slot = " + slot).one().getLong(0);
      String release = s.execute("SELECT release_version FROM system.local").one().getString(0);
      s.execute("DELETE FROM lt_it_smoke.counts WHERE slot = " + slot);
      if (n != 5 || rows != 501) throw new IllegalStateException("counter " + n + " (want 5), rows " + rows + " (want 501)");
      return "Cassandra " + release + ": counter table, UPDATE n = n + 3 then a 501-statement COUNTER BATCH; read back n=" + n
          + ", " + rows + " rows";
    } finally {
      cluster.close();
    }
  }
}
