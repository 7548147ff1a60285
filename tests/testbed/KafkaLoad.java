import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileReader;
import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The load generator and checker of the rolling-restart e2e test (tests/e2e_rolling.rs).
 *
 * <pre>
 *   create  BOOTSTRAP TOPIC PARTITIONS              replication factor 3, min.insync.replicas=2;
 *                                                   returns once every partition has a leader
 *   produce BOOTSTRAP TOPIC SECONDS ACKED_FILE [RATE]
 *       acks=all, idempotent, sequential integers (key and value), at most RATE/s (500) for at
 *       most SECONDS, or until ACKED_FILE.stop exists. Every acknowledged send is appended to
 *       ACKED_FILE as "seq partition offset ack_epoch_ms"; failed sends are counted (and the
 *       first ones logged). Meanwhile a monitor thread describes every topic every 200 ms and
 *       records whether any partition had no leader (ACKED_FILE.monitor). The totals go to
 *       ACKED_FILE.summary (key=value), written last; exit 0, or 2 if any send failed.
 *   check   BOOTSTRAP TOPIC ACKED_FILE
 *       reads the whole topic from the beginning (assigned partitions, no group, no commits,
 *       bounded by time) and prints how many acked numbers were read back, at the offset they
 *       were acked at, and lists the missing ones; exit 1 if any acked message is missing.
 * </pre>
 */
public class KafkaLoad {
  static final int MIN_ISR = 2;

  public static void main(String[] args) throws Exception {
    if (args.length < 1) usage();
    // A watchdog: nothing here may outlive its bound, whatever the cluster does.
    long bound;
    switch (args[0]) {
      case "create":
        if (args.length != 4) usage();
        bound = 180;
        break;
      case "produce":
        if (args.length != 5 && args.length != 6) usage();
        bound = Long.parseLong(args[3]) + 240;
        break;
      case "check":
        if (args.length != 4) usage();
        bound = 300;
        break;
      default:
        usage();
        return;
    }
    Thread dog = new Thread(() -> {
      try {
        Thread.sleep(bound * 1000);
      } catch (InterruptedException e) {
        return;
      }
      System.err.println("KafkaLoad: watchdog: still running after " + bound + " s, halting");
      Runtime.getRuntime().halt(9);
    });
    dog.setDaemon(true);
    dog.start();
    int rc;
    switch (args[0]) {
      case "create":
        rc = create(args[1], args[2], Integer.parseInt(args[3]));
        break;
      case "produce":
        rc = produce(args[1], args[2], Long.parseLong(args[3]), args[4],
            args.length > 5 ? Integer.parseInt(args[5]) : 500);
        break;
      default:
        rc = check(args[1], args[2], args[3]);
    }
    System.out.flush();
    System.exit(rc);
  }

  static void usage() {
    System.err.println("usage: KafkaLoad create BOOTSTRAP TOPIC PARTITIONS\n"
        + "       KafkaLoad produce BOOTSTRAP TOPIC SECONDS ACKED_FILE [RATE]\n"
        + "       KafkaLoad check BOOTSTRAP TOPIC ACKED_FILE");
    System.exit(64);
  }

  static AdminClient admin(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
    p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, 100);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafkaload-admin");
    return AdminClient.create(p);
  }

  static boolean leaderless(TopicPartitionInfo p) {
    Node l = p.leader();
    return l == null || l.isEmpty() || l.id() < 0;
  }

  // ---------------------------------------------------------------- create

  static int create(String bootstrap, String topic, int partitions) throws Exception {
    try (AdminClient a = admin(bootstrap)) {
      NewTopic t = new NewTopic(topic, partitions, (short) 3)
          .configs(Collections.singletonMap("min.insync.replicas", String.valueOf(MIN_ISR)));
      a.createTopics(Collections.singleton(t)).all().get(60, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + 60_000;
      String last = "";
      while (System.currentTimeMillis() < deadline) {
        try {
          TopicDescription d = a.describeTopics(Collections.singleton(topic)).all()
              .get(5, TimeUnit.SECONDS).get(topic);
          int ready = 0;
          for (TopicPartitionInfo p : d.partitions()) {
            if (!leaderless(p) && p.isr().size() == 3) ready++;
          }
          last = ready + " of " + d.partitions().size() + " partitions with a leader and 3 in sync";
          if (d.partitions().size() == partitions && ready == partitions) {
            System.out.println("CREATED " + topic + ": " + last);
            return 0;
          }
        } catch (Exception e) {
          last = e.toString();
        }
        Thread.sleep(200);
      }
      System.out.println("NOT READY " + topic + ": " + last);
      return 1;
    }
  }

  // ---------------------------------------------------------------- produce

  static int produce(String bootstrap, String topic, long seconds, String ackedPath, int rate)
      throws Exception {
    Files.deleteIfExists(Paths.get(ackedPath + ".summary"));
    Monitor mon = new Monitor(bootstrap, topic, ackedPath + ".monitor");
    Thread monThread = new Thread(mon, "monitor");
    monThread.setDaemon(true);
    monThread.start();

    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    p.put(ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 100);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "kafkaload-producer");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

    final BufferedWriter acked = new BufferedWriter(new FileWriter(ackedPath, false), 1 << 16);
    final AtomicLong ackCount = new AtomicLong();
    final AtomicLong failCount = new AtomicLong();
    final AtomicLong lastAck = new AtomicLong(0);
    final AtomicLong firstAck = new AtomicLong(0);
    final AtomicLong maxGap = new AtomicLong(0);
    final AtomicLong maxGapEnd = new AtomicLong(0);
    final AtomicReference<String> firstError = new AtomicReference<>("");
    long sent = 0;
    long start = System.currentTimeMillis();
    long end = start + seconds * 1000;
    java.io.File stop = new java.io.File(ackedPath + ".stop");
    String stoppedBy = "time";
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      long nextFlush = start + 1000;
      while (true) {
        long now = System.currentTimeMillis();
        if (now >= end) break;
        if (stop.exists()) {
          stoppedBy = "stop file";
          break;
        }
        // At most `rate` per second, evenly: the n-th send not before start + n/rate.
        long due = start + sent * 1000 / rate;
        if (due > now) {
          Thread.sleep(Math.min(due - now, 50));
          continue;
        }
        final long seq = sent++;
        String v = Long.toString(seq);
        producer.send(new ProducerRecord<>(topic, v, v), (md, e) -> {
          long t = System.currentTimeMillis();
          if (e != null) {
            failCount.incrementAndGet();
            if (firstError.compareAndSet("", e.toString())) {
              System.err.println("KafkaLoad: send " + seq + " failed: " + e);
            }
            return;
          }
          synchronized (acked) {
            try {
              acked.write(seq + " " + md.partition() + " " + md.offset() + " " + t + "\n");
            } catch (IOException io) {
              throw new RuntimeException(io);
            }
            long prev = lastAck.get();
            if (prev == 0) {
              firstAck.set(t);
            } else if (t - prev > maxGap.get()) {
              maxGap.set(t - prev);
              maxGapEnd.set(t);
            }
            lastAck.set(t);
            ackCount.incrementAndGet();
          }
        });
        if (now >= nextFlush) {
          synchronized (acked) {
            acked.flush();
          }
          nextFlush = now + 1000;
        }
      }
      // Every send either acked or failed (delivery.timeout.ms) before close returns.
      producer.flush();
      producer.close(Duration.ofSeconds(150));
    }
    synchronized (acked) {
      acked.close();
    }
    mon.stop = true;
    monThread.join(10_000);
    long stopped = System.currentTimeMillis();
    int rc = failCount.get() == 0 && ackCount.get() + failCount.get() == sent ? 0 : 2;
    Map<String, Object> s = new TreeMap<>();
    s.put("sent", sent);
    s.put("acked", ackCount.get());
    s.put("failed", failCount.get());
    s.put("unresolved", sent - ackCount.get() - failCount.get());
    s.put("first_error", firstError.get());
    s.put("stopped_by", stoppedBy);
    s.put("start_ms", start);
    s.put("end_ms", stopped);
    s.put("first_ack_ms", firstAck.get());
    s.put("last_ack_ms", lastAck.get());
    s.put("max_ack_gap_ms", maxGap.get());
    s.put("max_ack_gap_end_ms", maxGapEnd.get());
    s.put("rate", rate);
    s.put("exit", rc);
    mon.summary(s);
    StringBuilder out = new StringBuilder();
    for (Map.Entry<String, Object> e : s.entrySet()) {
      out.append(e.getKey()).append('=').append(String.valueOf(e.getValue()).replace('\n', ' '))
          .append('\n');
    }
    String tmp = ackedPath + ".summary.tmp";
    Files.write(Paths.get(tmp), out.toString().getBytes("UTF-8"));
    Files.move(Paths.get(tmp), Paths.get(ackedPath + ".summary"));
    System.out.print("PRODUCED\n" + out);
    return rc;
  }

  /**
   * Describes every topic (internal ones too) every 200 ms and counts the samples in which a
   * partition had no leader, had fewer than MIN_ISR replicas in sync, or was under-replicated;
   * every sample whose state differs from the previous one is logged with its time.
   */
  static class Monitor implements Runnable {
    final String bootstrap;
    final String topic;
    final String path;
    volatile boolean stop = false;
    long samples, errors, offlineSamples, underMinIsrSamples, underReplicatedSamples;
    long missingPartitionSamples;
    long firstMs, lastMs, maxIntervalMs, maxIntervalEndMs;
    int maxPartitions = 0;
    final Set<String> offlineSeen = new TreeSet<>();
    final Set<String> underMinIsrSeen = new TreeSet<>();
    String lastError = "";

    Monitor(String bootstrap, String topic, String path) {
      this.bootstrap = bootstrap;
      this.topic = topic;
      this.path = path;
    }

    public void run() {
      try (AdminClient a = admin(bootstrap);
          PrintWriter log = new PrintWriter(new BufferedWriter(new FileWriter(path, false)))) {
        String prev = null;
        while (!stop) {
          long t0 = System.currentTimeMillis();
          try {
            Set<String> names = a.listTopics(new ListTopicsOptions().listInternal(true)).names()
                .get(3, TimeUnit.SECONDS);
            Map<String, TopicDescription> ds = a.describeTopics(names).all()
                .get(3, TimeUnit.SECONDS);
            long t = System.currentTimeMillis();
            List<String> offline = new ArrayList<>();
            List<String> underMin = new ArrayList<>();
            List<String> under = new ArrayList<>();
            for (TopicDescription d : ds.values()) {
              for (TopicPartitionInfo p : d.partitions()) {
                String tp = d.name() + "-" + p.partition();
                if (leaderless(p)) offline.add(tp);
                if (p.isr().size() < MIN_ISR) underMin.add(tp);
                if (p.isr().size() < p.replicas().size()) under.add(tp);
              }
            }
            TopicDescription mine = ds.get(topic);
            int n = mine == null ? 0 : mine.partitions().size();
            synchronized (this) {
              if (samples > 0 && t - lastMs > maxIntervalMs) {
                maxIntervalMs = t - lastMs;
                maxIntervalEndMs = t;
              }
              if (samples == 0) firstMs = t;
              lastMs = t;
              samples++;
              if (n > maxPartitions) maxPartitions = n;
              if (n < maxPartitions) missingPartitionSamples++;
              if (!offline.isEmpty()) {
                offlineSamples++;
                offlineSeen.addAll(offline);
              }
              if (!underMin.isEmpty()) {
                underMinIsrSamples++;
                underMinIsrSeen.addAll(underMin);
              }
              if (!under.isEmpty()) underReplicatedSamples++;
            }
            String state = "partitions_of_topic=" + n + " offline=" + offline
                + " under_min_isr=" + underMin + " under_replicated=" + under.size();
            if (!state.equals(prev)) {
              log.println(t + " " + state);
              log.flush();
              prev = state;
            }
          } catch (Exception e) {
            synchronized (this) {
              errors++;
              lastError = e.toString();
            }
            log.println(System.currentTimeMillis() + " error " + e);
            log.flush();
            prev = null;
          }
          long left = 200 - (System.currentTimeMillis() - t0);
          if (left > 0) {
            try {
              Thread.sleep(left);
            } catch (InterruptedException e) {
              return;
            }
          }
        }
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    }

    synchronized void summary(Map<String, Object> s) {
      s.put("monitor_samples", samples);
      s.put("monitor_errors", errors);
      s.put("monitor_last_error", lastError);
      s.put("monitor_first_ms", firstMs);
      s.put("monitor_last_ms", lastMs);
      s.put("monitor_max_interval_ms", maxIntervalMs);
      s.put("monitor_max_interval_end_ms", maxIntervalEndMs);
      s.put("monitor_topic_partitions", maxPartitions);
      s.put("monitor_missing_partition_samples", missingPartitionSamples);
      s.put("monitor_offline_samples", offlineSamples);
      s.put("monitor_offline_partitions", String.join(",", offlineSeen));
      s.put("monitor_under_min_isr_samples", underMinIsrSamples);
      s.put("monitor_under_min_isr_partitions", String.join(",", underMinIsrSeen));
      s.put("monitor_under_replicated_samples", underReplicatedSamples);
    }
  }

  // ---------------------------------------------------------------- check

  static int check(String bootstrap, String topic, String ackedPath) throws Exception {
    // seq -> "partition offset" as acknowledged.
    Map<Long, String> acked = new HashMap<>();
    try (BufferedReader r = new BufferedReader(new FileReader(ackedPath))) {
      String line;
      while ((line = r.readLine()) != null) {
        String[] f = line.trim().split(" ");
        if (f.length < 3) continue;
        acked.put(Long.parseLong(f[0]), f[1] + " " + f[2]);
      }
    }
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "kafkaload-check-" + UUID.randomUUID());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    Set<Long> readBack = new TreeSet<>();
    long records = 0, duplicates = 0, misplaced = 0, unacked = 0;
    List<String> misplacedEx = new ArrayList<>();
    Map<TopicPartition, Long> endOffsets;
    Map<TopicPartition, Long> reached = new HashMap<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(60))) {
        tps.add(new TopicPartition(topic, pi.partition()));
      }
      c.assign(tps);
      c.seekToBeginning(tps);
      endOffsets = c.endOffsets(tps, Duration.ofSeconds(60));
      long deadline = System.currentTimeMillis() + 180_000;
      Set<Long> seen = new java.util.HashSet<>();
      while (System.currentTimeMillis() < deadline) {
        boolean done = true;
        for (TopicPartition tp : tps) {
          if (c.position(tp, Duration.ofSeconds(30)) < endOffsets.get(tp)) done = false;
        }
        if (done) break;
        for (ConsumerRecord<String, String> rec : c.poll(Duration.ofMillis(500))) {
          records++;
          reached.put(new TopicPartition(rec.topic(), rec.partition()), rec.offset() + 1);
          long seq = Long.parseLong(rec.value());
          if (!seen.add(seq)) duplicates++;
          String want = acked.get(seq);
          if (want == null) {
            unacked++;
            continue;
          }
          if (want.equals(rec.partition() + " " + rec.offset())) {
            readBack.add(seq);
          } else {
            misplaced++;
            if (misplacedEx.size() < 10) {
              misplacedEx.add(seq + " acked at " + want + ", read at " + rec.partition() + " "
                  + rec.offset());
            }
          }
        }
      }
    }
    List<Long> missing = new ArrayList<>();
    for (Long seq : new TreeSet<>(acked.keySet())) {
      if (!readBack.contains(seq)) missing.add(seq);
    }
    long endTotal = 0;
    for (long v : endOffsets.values()) endTotal += v;
    System.out.println("CHECK acked=" + acked.size() + " read_back=" + readBack.size()
        + " missing=" + missing.size() + " records=" + records + " end_offsets=" + endTotal
        + " duplicates=" + duplicates + " unacked_present=" + unacked + " misplaced=" + misplaced);
    if (!misplacedEx.isEmpty()) System.out.println("MISPLACED " + misplacedEx);
    if (!missing.isEmpty()) {
      StringBuilder sb = new StringBuilder("MISSING");
      for (int i = 0; i < missing.size() && i < 200; i++) sb.append(' ').append(missing.get(i));
      if (missing.size() > 200) sb.append(" ... (").append(missing.size()).append(" in all)");
      System.out.println(sb);
      return 1;
    }
    return 0;
  }
}
