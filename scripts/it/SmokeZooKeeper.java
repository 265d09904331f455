// Smoke check of one integration-test server with its own client jars, run by scripts/it/smoke.sh
// through the Java source launcher (no build, no venv):
//   java -cp "$LT_IT_CACHE/zookeeper/lib/*" scripts/it/SmokeZooKeeper.java 127.0.0.1:2181
// Prints "smoke zookeeper: OK ..." and exits 0, or prints the failure and exits 1.
import java.util.*;
import java.util.concurrent.*;

public class SmokeZooKeeper {
  public static void main(String[] args) throws Exception {
    String id = Long.toHexString(new Random().nextLong() & Long.MAX_VALUE);
    long t0 = System.nanoTime();
    try {
      String detail = ZkCheck.run(args.length > 0 ? args[0] : "127.0.0.1:2181", id);
      System.out.printf("smoke zookeeper: OK in %.1fs: %s%n", (System.nanoTime() - t0) / 1e9, detail);
      System.exit(0);
    } catch (Throwable e) {
      System.out.println("smoke zookeeper: FAILED: " + e);
      e.printStackTrace(System.out);
      System.exit(1);
    }
  }
}

// Create, read, conditionally update and delete a znode.
class ZkCheck {
  static String run(String addr, String id) throws Exception {
    CountDownLatch connected = new CountDownLatch(1);
    org.apache.zookeeper.ZooKeeper zk = new org.apache.zookeeper.ZooKeeper(addr, 10_000, ev -> {
      if (ev.getState() == org.apache.zookeeper.Watcher.Event.KeeperState.SyncConnected) connected.countDown();
    });
    try {
      if (!connected.await(20, TimeUnit.SECONDS)) throw new IllegalStateException("no session within 20s");
      String path = "/lt-it-smoke-" + id;
      zk.create(path, "hello".getBytes(), org.apache.zookeeper.ZooDefs.Ids.OPEN_ACL_UNSAFE,
          org.apache.zookeeper.CreateMode.PERSISTENT);
      org.apache.zookeeper.data.Stat st = new org.apache.zookeeper.data.Stat();
      String v1 = new String(zk.getData(path, false, st));
      zk.setData(path, "world".getBytes(), st.getVersion());
      String v2 = new String(zk.getData(path, false, st));
      zk.delete(path, st.getVersion());
      if (!v1.equals("hello") || !v2.equals("world")) throw new IllegalStateException("read back " + v1 + "/" + v2);
      return "znode " + path + " created, read '" + v1 + "', set to '" + v2 + "' (version " + st.getVersion() + "), deleted";
    } finally {
      zk.close();
    }
  }
}
