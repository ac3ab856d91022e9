import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Java client side of the compatibility tests (tests/compat/clients.py).
 *
 *   produce BOOTSTRAP TOPIC COMPRESSION   records on stdin, one per line:
 *                                         key_b64 TAB value_b64 TAB name_b64:value_b64,...
 *                                         prints "partition TAB offset" per record, in order
 *   consume BOOTSTRAP TOPIC COUNT TIMEOUT_MS
 *                                         assigns every partition (no group), reads from
 *                                         the beginning; prints one line per record:
 *                                         partition TAB offset TAB key TAB value TAB headers
 *   admin BOOTSTRAP                       admin commands on stdin, see AdminDriver
 *   member BOOTSTRAP TOPIC GROUP [SETTING=VALUE...]
 *                                         a long-running consumer-group member, see GroupMember
 *
 * The producer keeps the client's defaults (enable.idempotence=true, acks=all).
 */
public final class KafkaDriver {
    private static final Base64.Encoder B64 = Base64.getEncoder();
    private static final Base64.Decoder UNB64 = Base64.getDecoder();

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: KafkaDriver produce|consume|admin|member BOOTSTRAP ...");
            System.exit(2);
        }
        switch (args[0]) {
            case "produce": produce(args[1], args[2], args[3]); break;
            case "consume": consume(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4])); break;
            case "admin": AdminDriver.run(args[1]); break;
            case "member":
                GroupMember.run(args[1], args[2], args[3], java.util.Arrays.asList(args).subList(4, args.length));
                break;
            default:
                System.err.println("unknown command " + args[0]);
                System.exit(2);
        }
    }

    private static void produce(String bootstrap, String topic, String compression) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] fields = line.split("\t", -1);
                ProducerRecord<byte[], byte[]> record =
                    new ProducerRecord<>(topic, UNB64.decode(fields[0]), UNB64.decode(fields[1]));
                if (fields.length > 2 && !fields[2].isEmpty()) {
                    for (String header : fields[2].split(",")) {
                        String[] nameValue = header.split(":", 2);
                        record.headers().add(
                            new String(UNB64.decode(nameValue[0]), StandardCharsets.UTF_8),
                            UNB64.decode(nameValue[1]));
                    }
                }
                sent.add(producer.send(record));
            }
            producer.flush();
            StringBuilder out = new StringBuilder();
            for (Future<RecordMetadata> future : sent) {
                RecordMetadata meta = future.get();
                out.append(meta.partition()).append('\t').append(meta.offset()).append('\n');
            }
            System.out.print(out);
        }
    }

    private static void consume(String bootstrap, String topic, int count, long timeoutMs) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        StringBuilder out = new StringBuilder();
        int received = 0;
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) {
                partitions.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (received < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    received++;
                    out.append(record.partition()).append('\t').append(record.offset()).append('\t')
                        .append(b64(record.key())).append('\t').append(b64(record.value())).append('\t');
                    boolean first = true;
                    for (Header header : record.headers()) {
                        if (!first) out.append(',');
                        first = false;
                        out.append(b64(header.key().getBytes(StandardCharsets.UTF_8))).append(':')
                            .append(b64(header.value()));
                    }
                    out.append('\n');
                }
            }
        }
        System.out.print(out);
    }

    private static String b64(byte[] data) {
        return data == null ? "" : B64.encodeToString(data);
    }
}
