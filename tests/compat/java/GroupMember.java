import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A long-running consumer-group member (tests/compat/groups.py):
 *
 *   member BOOTSTRAP TOPIC GROUP [consumer.setting=value ...]
 *
 * Subscribes to TOPIC in GROUP and prints one JSON line per event, the same
 * events as groups_member.py: "assignment" (the whole current set, with the
 * generation id and member id), "record" (printed before its offset is
 * committed), "committed", "commit_failed", "status" (on the stdin command
 * "status") and "closed" (after a clean close, on "close" or SIGTERM).
 * Offsets are committed synchronously after every non-empty poll.
 */
final class GroupMember {
    private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(200);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String topic;
    private final TreeSet<Integer> owned = new TreeSet<>();
    private final LinkedBlockingQueue<String> commands = new LinkedBlockingQueue<>();

    private GroupMember(KafkaConsumer<byte[], byte[]> consumer, String topic) {
        this.consumer = consumer;
        this.topic = topic;
    }

    static void run(String bootstrap, String topic, String group, List<String> settings) throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
        for (String setting : settings) {
            String[] nameValue = setting.split("=", 2);
            props.put(nameValue[0], nameValue[1]);
        }
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        new GroupMember(consumer, topic).loop();
    }

    private void loop() throws InterruptedException {
        CountDownLatch closed = new CountDownLatch(1);
        // SIGTERM: wake the poll loop, and let the JVM exit only after the
        // consumer has closed (left the group).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            commands.add("close");
            consumer.wakeup();
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        Thread stdin = new Thread(this::readCommands);
        stdin.setDaemon(true);
        stdin.start();
        try {
            consumer.subscribe(List.of(topic), new Listener());
            while (true) {
                String command;
                boolean closing = false;
                while ((command = commands.poll()) != null) {
                    if (command.equals("status")) {
                        emit("status", status());
                    } else if (command.equals("close")) {
                        closing = true;
                    }
                }
                if (closing) break;
                try {
                    consumeOnce();
                } catch (WakeupException e) {
                    // A close is queued; the loop sees it.
                }
            }
            consumer.close();
            emit("closed", new LinkedHashMap<>());
        } finally {
            closed.countDown();
        }
    }

    private void consumeOnce() {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("partition", record.partition());
            event.put("offset", record.offset());
            event.put("key", record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8));
            emit("record", event);
            next.put(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1));
        }
        if (next.isEmpty()) return;
        try {
            consumer.commitSync(next);
            Map<String, Object> offsets = new LinkedHashMap<>();
            for (Map.Entry<TopicPartition, OffsetAndMetadata> entry : next.entrySet()) {
                offsets.put(String.valueOf(entry.getKey().partition()), entry.getValue().offset());
            }
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("offsets", offsets);
            emit("committed", event);
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            // A rebalance got in the way; the partition's next owner re-reads.
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("message", e.toString());
            emit("commit_failed", event);
        }
    }

    private Map<String, Object> status() {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("partitions", new ArrayList<>(owned));
        status.put("generation", consumer.groupMetadata().generationId());
        status.put("member_id", consumer.groupMetadata().memberId());
        return status;
    }

    private void readCommands() {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            String line;
            while ((line = in.readLine()) != null) {
                String command = line.trim();
                commands.add(command);
                // Only a close interrupts a poll; a status waits for it to end.
                if (command.equals("close")) consumer.wakeup();
            }
        } catch (Exception e) {
            // stdin broke: the test is gone
        }
        commands.add("close");
        consumer.wakeup();
    }

    private static synchronized void emit(String kind, Map<String, Object> fields) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("event", kind);
        event.putAll(fields);
        OUT.println(Json.write(event));
        OUT.flush();
    }

    private final class Listener implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            for (TopicPartition tp : partitions) owned.remove(tp.partition());
            emit("assignment", status());
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            for (TopicPartition tp : partitions) owned.add(tp.partition());
            emit("assignment", status());
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            onPartitionsRevoked(partitions);
        }
    }
}
