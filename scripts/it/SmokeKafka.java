// Smoke check of one integration-test server with its own client jars, run by scripts/it/smoke.sh
// through the Java source launcher (no build, no venv):
//   java -cp "$LT_IT_CACHE/kafka/lib/*" scripts/it/SmokeKafka.java 127.0.0.1:9092
// Prints "smoke kafka: OK ..." and exits 0, or prints the failure and exits 1.
import java.util.*;
import java.util.concurrent.*;

public class SmokeKafka {
  public static void main(String[] args) throws Exception {
    String id = Long.toHexString(new Random().nextLong() & Long.MAX_VALUE);
    long t0 = System.nanoTime();
    try {
      String detail = KafkaCheck.run(args.length > 0 ? args[0] : "127.0.0.1:9092", id);
      System.out.printf("smoke kafka: OK in %.1fs: %s%n", (System.nanoTime() - t0) / 1e9, detail);
      System.exit(0);
    } catch (Throwable e) {
      System.out.println("smoke kafka: FAILED: " + e);
      e.printStackTrace(System.out);
      System.exit(1);
    }
  }
}

// Create a topic (Admin API), produce one record (acks=all), consume it back in a group, delete the topic.
class KafkaCheck {
  static String run(String addr, String id) throws Exception {
    String topic = "lt-it-smoke-" + id;
    Properties ap = new Properties();
    ap.put("bootstrap.servers", addr);
    try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(ap)) {
      admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 3, (short) 1))).all()
          .get(30, TimeUnit.SECONDS);
      Properties pp = new Properties();
      pp.put("bootstrap.servers", addr);
      pp.put("acks", "all");
      pp.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
      pp.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
      org.apache.kafka.clients.producer.RecordMetadata md;
      try (org.apache.kafka.clients.producer.KafkaProducer<String, String> p =
               new org.apache.kafka.clients.producer.KafkaProducer<>(pp)) {
        md = p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "k", "hello-" + id))
            .get(30, TimeUnit.SECONDS);
      }
      Properties cp = new Properties();
      cp.put("bootstrap.servers", addr);
      cp.put("group.id", "lt-it-smoke-" + id);
      cp.put("auto.offset.reset", "earliest");
      cp.put("key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
      cp.put("value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer");
      String got = null;
      try (org.apache.kafka.clients.consumer.KafkaConsumer<String, String> c =
               new org.apache.kafka.clients.consumer.KafkaConsumer<>(cp)) {
        c.subscribe(List.of(topic));
        long deadline = System.currentTimeMillis() + 30_000;
        while (got == null && System.currentTimeMillis() < deadline) {
          for (org.apache.kafka.clients.consumer.ConsumerRecord<String, String> r : c.poll(java.time.Duration.ofMillis(500))) {
            got = r.value();
          }
        }
        c.commitSync();
      }
      admin.deleteTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
      if (!("hello-" + id).equals(got)) throw new IllegalStateException("consumed " + got);
      return "topic " + topic + " created, produced to partition " + md.partition() + " offset " + md.offset()
          + ", consumed it back, topic deleted";
    }
  }
}
