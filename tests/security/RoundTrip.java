// The Apache Kafka Java client over a secured listener
// (tests/security/secure_clients.py), run as a single-file program.
// Arguments: bootstrap topic tag count; security settings as a properties
// file on stdin. Produces tag-0..tag-(count-1) to partition 0, reads them
// back with manual assignment and prints one value per line. Exits 2 when
// the connection, TLS or the login fails.

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class RoundTrip {
    public static void main(String[] args) throws Exception {
        Properties security = new Properties();
        security.load(System.in);
        security.put("bootstrap.servers", args[0]);
        String topic = args[1];
        String tag = args[2];
        int count = Integer.parseInt(args[3]);
        try {
            run(security, topic, tag, count);
        } catch (Exception e) {
            Throwable cause = e;
            while (cause.getCause() != null && !(cause instanceof AuthenticationException)) {
                cause = cause.getCause();
            }
            System.err.println(cause);
            System.exit(cause instanceof AuthenticationException ? 2 : 1);
        }
    }

    static void run(Properties security, String topic, String tag, int count) throws Exception {
        Properties producerProps = new Properties();
        producerProps.putAll(security);
        producerProps.put("key.serializer", StringSerializer.class.getName());
        producerProps.put("value.serializer", StringSerializer.class.getName());
        producerProps.put("max.block.ms", "15000");
        producerProps.put("delivery.timeout.ms", "15000");
        producerProps.put("request.timeout.ms", "10000");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps)) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, 0, null, tag + "-" + i)).get();
            }
        }
        Properties consumerProps = new Properties();
        consumerProps.putAll(security);
        consumerProps.put("key.deserializer", StringDeserializer.class.getName());
        consumerProps.put("value.deserializer", StringDeserializer.class.getName());
        consumerProps.put("enable.auto.commit", "false");
        List<String> got = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps)) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long deadline = System.currentTimeMillis() + 30000;
            while (got.size() < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
                    got.add(record.value());
                }
            }
        }
        for (String value : got) {
            System.out.println(value);
        }
    }
}
