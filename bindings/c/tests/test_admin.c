/* Admin calls: topics, partitions, configs, metadata, offsets, records
 * and groups. */
#include "harness.h"

static const char *config_value(const strom_config_entries_t *entries, const char *name) {
    for (int i = 0; i < entries->cnt; i++)
        if (strcmp(entries->entries[i].name, name) == 0)
            return entries->entries[i].value ? entries->entries[i].value : "(null)";
    return NULL;
}

void test_admin_topics_partitions_and_configs(void) {
    char topic[128];
    unique_name("admin", topic, sizeof topic);
    strom_t *admin = new_admin();
    CHECK(admin != NULL);
    const char *configs[] = {"retention.ms", "3600000", "cleanup.policy", "delete"};
    CHECK_OK(strom_create_topic(admin, topic, 2, 1, configs, 2, 10000));
    CHECK(strom_create_topic(admin, topic, 2, 1, NULL, 0, 10000) == STROM_RESP_ERR_TOPIC_ALREADY_EXISTS);
    CHECK(strom_create_topic(admin, topic, 2, 1, NULL, 3, 10000) == STROM_RESP_ERR__INVALID_ARG);

    const strom_metadata_t *metadata = NULL;
    CHECK_OK(strom_metadata(admin, topic, &metadata, 10000));
    CHECK(metadata->topic_cnt == 1);
    CHECK(strcmp(metadata->topics[0].topic, topic) == 0);
    CHECK(metadata->topics[0].err == 0);
    CHECK(metadata->topics[0].partition_cnt == 2);
    CHECK(metadata->topics[0].partitions[1].id == 1);
    CHECK(metadata->topics[0].partitions[1].replica_cnt == 1);
    CHECK(metadata->topics[0].partitions[1].leader == metadata->brokers[0].id);
    CHECK(metadata->topics[0].partitions[1].isrs[0] == metadata->brokers[0].id);
    CHECK(metadata->broker_cnt >= 1 && metadata->brokers[0].port > 0);
    strom_metadata_destroy(metadata);

    const strom_config_entries_t *entries = NULL;
    CHECK_OK(strom_describe_topic_config(admin, topic, &entries, 10000));
    CHECK(config_value(entries, "retention.ms") && strcmp(config_value(entries, "retention.ms"), "3600000") == 0);
    strom_config_entries_destroy(entries);
    CHECK_OK(strom_alter_topic_config(admin, topic, "retention.ms", "7200000", 10000));
    CHECK_OK(strom_describe_topic_config(admin, topic, &entries, 10000));
    CHECK(strcmp(config_value(entries, "retention.ms"), "7200000") == 0);
    strom_config_entries_destroy(entries);
    CHECK_OK(strom_alter_topic_config(admin, topic, "retention.ms", NULL, 10000));
    CHECK_OK(strom_describe_topic_config(admin, topic, &entries, 10000));
    CHECK(strcmp(config_value(entries, "retention.ms"), "604800000") == 0);
    strom_config_entries_destroy(entries);
    CHECK(strom_alter_topic_config(admin, topic, "no.such.config", "1", 10000) != STROM_RESP_ERR_NO_ERROR);

    CHECK_OK(strom_create_partitions(admin, topic, 3, 10000));
    CHECK_OK(strom_metadata(admin, topic, &metadata, 10000));
    CHECK(metadata->topics[0].partition_cnt == 3);
    strom_metadata_destroy(metadata);
    CHECK(strom_create_partitions(admin, topic, 2, 10000) == STROM_RESP_ERR_INVALID_PARTITIONS);

    /* All topics: ours is among them. */
    CHECK_OK(strom_metadata(admin, NULL, &metadata, 10000));
    int found = 0;
    for (int i = 0; i < metadata->topic_cnt; i++)
        found |= strcmp(metadata->topics[i].topic, topic) == 0;
    CHECK(found);
    strom_metadata_destroy(metadata);

    CHECK_OK(strom_delete_topic(admin, topic, 10000));
    strom_destroy(admin, 5000);
}

void test_admin_offsets_records_and_groups(void) {
    char errstr[512], topic[128], group[128];
    unique_name("admin-offsets", topic, sizeof topic);
    unique_name("admin-group", group, sizeof group);
    CHECK(create_topic(topic, 1));
    CHECK(produce_records(topic, 0, 30, "snappy") == 30);
    strom_t *admin = new_admin();
    CHECK(admin != NULL);

    int64_t low = -5, high = -5;
    CHECK_OK(strom_query_watermark_offsets(admin, topic, 0, &low, &high, 10000));
    CHECK(low == 0 && high == 30);

    /* Offsets for times: produce_records wrote "now"; a time far in the
     * past finds the first record, one in the future none. */
    strom_topic_partition_list_t *times = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(times, topic, 0)->offset = 1000;
    CHECK_OK(strom_offsets_for_times(admin, times, 10000));
    CHECK(times->elems[0].offset == 0);
    times->elems[0].offset = 32503680000000LL; /* year 3000 */
    CHECK_OK(strom_offsets_for_times(admin, times, 10000));
    CHECK(times->elems[0].offset == -1);
    strom_topic_partition_list_destroy(times);

    strom_topic_partition_list_t *before = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(before, topic, 0)->offset = 10;
    CHECK_OK(strom_delete_records(admin, before, 10000));
    CHECK(before->elems[0].offset == 10);
    CHECK_OK(strom_query_watermark_offsets(admin, topic, 0, &low, &high, 10000));
    CHECK(low == 10 && high == 30);
    strom_topic_partition_list_destroy(before);

    /* A group with committed offsets, set by the admin. */
    strom_topic_partition_list_t *offsets = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(offsets, topic, 0)->offset = 25;
    CHECK_OK(strom_alter_group_offsets(admin, group, offsets, 10000));
    strom_topic_partition_list_destroy(offsets);
    strom_topic_partition_list_t *listed = NULL;
    CHECK_OK(strom_list_group_offsets(admin, group, &listed, 10000));
    CHECK(listed->cnt == 1 && listed->elems[0].offset == 25 && strcmp(listed->elems[0].topic, topic) == 0);
    strom_topic_partition_list_destroy(listed);

    /* A member joins: the group lists with it and its assignment. */
    strom_conf_t *conf = make_conf("group.id", group, "client.id", "c-admin-test", NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, topic, STROM_PARTITION_UA);
    CHECK_OK(strom_subscribe(consumer, topics));
    strom_topic_partition_list_destroy(topics);
    strom_message_t *msg = next_record(consumer, 20000);
    CHECK(msg != NULL && msg->offset == 25);
    strom_message_destroy(msg);

    const strom_group_list_t *groups = NULL;
    CHECK_OK(strom_list_groups(admin, group, &groups, 10000));
    CHECK(groups->group_cnt == 1);
    CHECK(strcmp(groups->groups[0].group, group) == 0);
    CHECK(strcmp(groups->groups[0].state, "Stable") == 0);
    CHECK(strcmp(groups->groups[0].protocol_type, "consumer") == 0);
    CHECK(groups->groups[0].member_cnt == 1);
    CHECK(strcmp(groups->groups[0].members[0].client_id, "c-admin-test") == 0);
    CHECK(groups->groups[0].members[0].assignment->cnt == 1);
    CHECK(strcmp(groups->groups[0].members[0].assignment->elems[0].topic, topic) == 0);
    strom_group_list_destroy(groups);
    CHECK_OK(strom_list_groups(admin, NULL, &groups, 10000));
    int found = 0;
    for (int i = 0; i < groups->group_cnt; i++)
        found |= strcmp(groups->groups[i].group, group) == 0;
    CHECK(found);
    strom_group_list_destroy(groups);

    /* A group with a member cannot be deleted; once it left, it can. */
    CHECK(strom_delete_group(admin, group, 10000) == STROM_RESP_ERR_NON_EMPTY_GROUP);
    CHECK_OK(strom_consumer_close(consumer));
    strom_destroy(consumer, 5000);
    CHECK_OK(strom_delete_group(admin, group, 10000));
    CHECK(strom_delete_group(admin, group, 10000) == STROM_RESP_ERR_GROUP_ID_NOT_FOUND);

    /* Admin calls work on a producer handle too. */
    conf = make_conf(NULL);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    CHECK(producer != NULL);
    CHECK_OK(strom_query_watermark_offsets(producer, topic, 0, &low, &high, 10000));
    CHECK(high == 30);
    strom_destroy(producer, 5000);
    strom_destroy(admin, 5000);
}
