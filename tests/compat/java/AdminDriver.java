import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The Java Admin client, driven one command per stdin line (fields split by
 * TAB); one JSON object per command on stdout, {"error": ..., "message": ...}
 * when the command failed:
 *
 *   create TOPIC PARTITIONS VALIDATE_ONLY [NAME=VALUE...]
 *   describe TOPIC            partitions with leader, replicas, isr
 *   configs TOPIC             every config: value, source, isDefault
 *   alter TOPIC set NAME VALUE | alter TOPIC delete NAME   (incremental)
 *   add_partitions TOPIC TOTAL
 *   delete TOPIC
 *   topics                    names of all topics
 *   offsets TOPIC PARTITION earliest|latest|max_timestamp|TIMESTAMP_MS
 *   delete_group_offsets GROUP TOPIC PARTITION...   (OffsetDelete)
 */
final class AdminDriver {
    private static final long TIMEOUT_S = 30;

    private AdminDriver() {}

    static void run(String bootstrap) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (Admin admin = Admin.create(props)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isEmpty()) continue;
                Object reply;
                try {
                    reply = execute(admin, line.split("\t"));
                } catch (ExecutionException e) {
                    reply = error(e.getCause());
                } catch (Exception e) {
                    reply = error(e);
                }
                System.out.println(Json.write(reply));
                System.out.flush();
            }
        }
    }

    private static Map<String, Object> error(Throwable e) {
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("error", e.getClass().getSimpleName());
        reply.put("message", String.valueOf(e.getMessage()));
        return reply;
    }

    private static Object execute(Admin admin, String[] cmd) throws Exception {
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("ok", true);
        switch (cmd[0]) {
            case "create": {
                Map<String, String> configs = new HashMap<>();
                for (int i = 4; i < cmd.length; i++) {
                    String[] kv = cmd[i].split("=", 2);
                    configs.put(kv[0], kv[1]);
                }
                NewTopic topic = new NewTopic(cmd[1], Integer.parseInt(cmd[2]), (short) 1).configs(configs);
                CreateTopicsOptions options = new CreateTopicsOptions().validateOnly(Boolean.parseBoolean(cmd[3]));
                admin.createTopics(List.of(topic), options).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                return reply;
            }
            case "describe": {
                TopicDescription description =
                    admin.describeTopics(List.of(cmd[1])).allTopicNames().get(TIMEOUT_S, TimeUnit.SECONDS).get(cmd[1]);
                List<Object> partitions = new ArrayList<>();
                for (TopicPartitionInfo info : description.partitions()) {
                    Map<String, Object> p = new LinkedHashMap<>();
                    p.put("partition", info.partition());
                    p.put("leader", info.leader() == null ? -1 : info.leader().id());
                    p.put("replicas", nodeIds(info.replicas()));
                    p.put("isr", nodeIds(info.isr()));
                    partitions.add(p);
                }
                reply.put("topic_id", description.topicId().toString());
                reply.put("internal", description.isInternal());
                reply.put("partitions", partitions);
                return reply;
            }
            case "configs": {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, cmd[1]);
                Config config =
                    admin.describeConfigs(List.of(resource)).all().get(TIMEOUT_S, TimeUnit.SECONDS).get(resource);
                Map<String, Object> entries = new LinkedHashMap<>();
                for (ConfigEntry entry : config.entries()) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("value", entry.value());
                    e.put("source", entry.source().name());
                    e.put("is_default", entry.isDefault());
                    e.put("read_only", entry.isReadOnly());
                    e.put("sensitive", entry.isSensitive());
                    entries.put(entry.name(), e);
                }
                reply.put("configs", entries);
                return reply;
            }
            case "alter": {
                ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, cmd[1]);
                AlterConfigOp op = cmd[2].equals("set")
                    ? new AlterConfigOp(new ConfigEntry(cmd[3], cmd[4]), AlterConfigOp.OpType.SET)
                    : new AlterConfigOp(new ConfigEntry(cmd[3], null), AlterConfigOp.OpType.DELETE);
                admin.incrementalAlterConfigs(Map.of(resource, List.of(op))).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                return reply;
            }
            case "add_partitions":
                admin.createPartitions(Map.of(cmd[1], NewPartitions.increaseTo(Integer.parseInt(cmd[2]))))
                    .all().get(TIMEOUT_S, TimeUnit.SECONDS);
                return reply;
            case "delete":
                admin.deleteTopics(List.of(cmd[1])).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                return reply;
            case "topics":
                reply.put("topics", new ArrayList<>(new TreeSet<>(admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS))));
                return reply;
            case "offsets": {
                TopicPartition tp = new TopicPartition(cmd[1], Integer.parseInt(cmd[2]));
                OffsetSpec spec;
                switch (cmd[3]) {
                    case "earliest": spec = OffsetSpec.earliest(); break;
                    case "latest": spec = OffsetSpec.latest(); break;
                    case "max_timestamp": spec = OffsetSpec.maxTimestamp(); break;
                    default: spec = OffsetSpec.forTimestamp(Long.parseLong(cmd[3]));
                }
                ListOffsetsResult.ListOffsetsResultInfo info =
                    admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get(TIMEOUT_S, TimeUnit.SECONDS);
                reply.put("offset", info.offset());
                reply.put("timestamp", info.timestamp());
                return reply;
            }
            case "delete_group_offsets": {
                java.util.Set<TopicPartition> partitions = new java.util.HashSet<>();
                for (int i = 3; i < cmd.length; i++) partitions.add(new TopicPartition(cmd[2], Integer.parseInt(cmd[i])));
                admin.deleteConsumerGroupOffsets(cmd[1], partitions).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                return reply;
            }
            default:
                throw new IllegalArgumentException("unknown admin command " + cmd[0]);
        }
    }

    private static List<Integer> nodeIds(List<org.apache.kafka.common.Node> nodes) {
        List<Integer> ids = new ArrayList<>();
        for (org.apache.kafka.common.Node node : nodes) ids.add(node.id());
        Collections.sort(ids);
        return ids;
    }
}
