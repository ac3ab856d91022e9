/* Records round trip: delivery reports, keys, values, headers, null
 * fields and timestamps, through each codec; then assign, seek, position,
 * pause/resume and partition ends. */
#include "harness.h"

#define RECORDS 300

struct deliveries {
    int ok;
    int failed;
    int opaque_matches;
    int64_t last_offset[4];
    int in_order;
};

static int tags[RECORDS];

static void on_delivery(strom_t *rk, const strom_message_t *msg, void *opaque) {
    (void)rk;
    struct deliveries *seen = opaque;
    if (msg->err) {
        seen->failed++;
        return;
    }
    seen->ok++;
    int index = (int)((int *)msg->opaque - tags);
    if (index >= 0 && index < RECORDS && tags[index] == index)
        seen->opaque_matches++;
    if (msg->partition >= 0 && msg->partition < 4) {
        if (msg->offset <= seen->last_offset[msg->partition])
            seen->in_order = 0;
        seen->last_offset[msg->partition] = msg->offset;
    }
}

/* Record i: key "key-i" (none for i % 50 == 7), value "value-i" (null for
 * i % 50 == 9), headers "index" = i and "empty" = null. */
static int produce_mixed(const char *topic, const char *codec, struct deliveries *seen) {
    char errstr[512];
    strom_conf_t *conf = make_conf("compression.type", codec, "linger.ms", "5", NULL);
    if (!conf)
        return 0;
    strom_conf_set_dr_msg_cb(conf, on_delivery);
    strom_conf_set_opaque(conf, seen);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    if (!producer) {
        fprintf(stderr, "    %s\n", errstr);
        strom_conf_destroy(conf);
        return 0;
    }
    for (int i = 0; i < RECORDS; i++) {
        char key[32], value[32], index[16];
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        snprintf(index, sizeof index, "%d", i);
        strom_headers_t *hdrs = strom_headers_new(2);
        strom_header_add(hdrs, "index", -1, index, -1);
        strom_header_add(hdrs, "empty", -1, NULL, 0);
        tags[i] = i;
        int null_key = i % 50 == 7, null_value = i % 50 == 9;
        strom_resp_err_t err = strom_produce(producer, topic, i % 4, null_key ? NULL : key, null_key ? 0 : strlen(key),
                                             null_value ? NULL : value, null_value ? 0 : strlen(value), hdrs,
                                             1700000000000LL + i, &tags[i]);
        strom_headers_destroy(hdrs);
        if (err) {
            fprintf(stderr, "    produce: %s\n", strom_last_error_string());
            break;
        }
    }
    strom_resp_err_t flushed = strom_flush(producer, 30000);
    int left = strom_outq_len(producer);
    strom_destroy(producer, 5000);
    return flushed == STROM_RESP_ERR_NO_ERROR && left == 0;
}

/* Reads every partition of `topic` from the start and checks each record
 * against what produce_mixed wrote. */
static int consume_and_check(const char *topic) {
    char errstr[512];
    strom_conf_t *conf = make_conf(NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    if (!consumer) {
        fprintf(stderr, "    %s\n", errstr);
        strom_conf_destroy(conf);
        return 0;
    }
    strom_topic_partition_list_t *partitions = strom_topic_partition_list_new(4);
    for (int p = 0; p < 4; p++)
        strom_topic_partition_list_add(partitions, topic, p)->offset = STROM_OFFSET_BEGINNING;
    int ok = strom_assign(consumer, partitions) == STROM_RESP_ERR_NO_ERROR;
    strom_topic_partition_list_destroy(partitions);
    int seen[RECORDS] = {0};
    int count = 0, bad = 0;
    long long deadline = now_ms() + 30000;
    while (ok && count < RECORDS && now_ms() < deadline) {
        strom_message_t *msg = strom_consumer_poll(consumer, 500);
        if (!msg)
            continue;
        if (msg->err) {
            fprintf(stderr, "    event: %s\n", strom_message_errstr(msg));
            strom_message_destroy(msg);
            continue;
        }
        const void *value;
        size_t size;
        const strom_headers_t *hdrs;
        int i = -1;
        if (strom_message_headers(msg, &hdrs) == STROM_RESP_ERR_NO_ERROR && strom_header_cnt(hdrs) == 2 &&
            strom_header_get_last(hdrs, "index", &value, &size) == STROM_RESP_ERR_NO_ERROR && size < 15) {
            char text[16] = {0};
            memcpy(text, value, size);
            i = atoi(text);
        }
        const char *name = NULL;
        if (i < 0 || i >= RECORDS || seen[i]++ ||
            strom_header_get_all(hdrs, 1, &name, &value, &size) != STROM_RESP_ERR_NO_ERROR ||
            strcmp(name, "empty") != 0 || value != NULL) {
            bad++;
        } else {
            char key[32], text[32];
            snprintf(key, sizeof key, "key-%d", i);
            snprintf(text, sizeof text, "value-%d", i);
            int key_ok = i % 50 == 7 ? msg->key == NULL
                                     : msg->key_len == strlen(key) && memcmp(msg->key, key, msg->key_len) == 0;
            int value_ok = i % 50 == 9 ? msg->payload == NULL
                                       : msg->len == strlen(text) && memcmp(msg->payload, text, msg->len) == 0;
            if (!key_ok || !value_ok || msg->partition != i % 4 || msg->timestamp != 1700000000000LL + i ||
                strcmp(msg->topic, topic) != 0 || msg->offset != i / 4)
                bad++;
        }
        count++;
        strom_message_destroy(msg);
    }
    strom_destroy(consumer, 5000);
    if (count != RECORDS || bad)
        fprintf(stderr, "    read %d records, %d wrong\n", count, bad);
    return count == RECORDS && bad == 0;
}

void test_round_trip_through_every_codec(void) {
    const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        char topic[128];
        unique_name(codecs[c], topic, sizeof topic);
        CHECK(create_topic(topic, 4));
        struct deliveries seen = {0, 0, 0, {-1, -1, -1, -1}, 1};
        CHECK(produce_mixed(topic, codecs[c], &seen));
        CHECK(seen.ok == RECORDS);
        CHECK(seen.failed == 0);
        CHECK(seen.opaque_matches == RECORDS);
        CHECK(seen.in_order);
        for (int p = 0; p < 4; p++)
            CHECK(seen.last_offset[p] == RECORDS / 4 - 1);
        CHECK(consume_and_check(topic));
    }
}

void test_assign_seek_position_pause_and_partition_end(void) {
    char errstr[512], topic[128];
    unique_name("seek", topic, sizeof topic);
    CHECK(create_topic(topic, 2));
    CHECK(produce_records(topic, 0, 20, "none") == 20);
    CHECK(produce_records(topic, 1, 5, "none") == 5);

    strom_conf_t *conf = make_conf("enable.partition.eof", "true", NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    strom_topic_partition_list_t *list = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(list, topic, 0)->offset = 15;
    CHECK_OK(strom_assign(consumer, list));
    strom_topic_partition_list_t *assigned = NULL;
    CHECK_OK(strom_assignment(consumer, &assigned));
    CHECK(assigned->cnt == 1 && assigned->elems[0].partition == 0 && strcmp(assigned->elems[0].topic, topic) == 0);
    strom_topic_partition_list_destroy(assigned);

    strom_message_t *msg = next_record(consumer, 15000);
    CHECK(msg != NULL);
    CHECK(msg->offset == 15 && msg->len == 8 && memcmp(msg->payload, "value-15", 8) == 0);
    strom_message_destroy(msg);
    CHECK_OK(strom_position(consumer, list));
    CHECK(list->elems[0].offset == 16);

    /* Seek back; then read to the end and see the partition end. */
    CHECK_OK(strom_seek(consumer, topic, 0, 3, 1000));
    msg = next_record(consumer, 15000);
    CHECK(msg != NULL && msg->offset == 3);
    strom_message_destroy(msg);
    int eof = 0;
    long long deadline = now_ms() + 15000;
    while (!eof && now_ms() < deadline) {
        msg = strom_consumer_poll(consumer, 200);
        if (msg && msg->err == STROM_RESP_ERR__PARTITION_EOF) {
            eof = msg->partition == 0 && msg->offset == 20 && strcmp(msg->topic, topic) == 0;
            CHECK(strlen(strom_message_errstr(msg)) > 0);
        }
        strom_message_destroy(msg);
    }
    CHECK(eof);

    /* Add partition 1 incrementally, paused: nothing comes until resumed. */
    strom_topic_partition_list_t *more = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(more, topic, 1)->offset = STROM_OFFSET_BEGINNING;
    CHECK_OK(strom_incremental_assign(consumer, more));
    CHECK_OK(strom_pause(consumer, more));
    msg = strom_consumer_poll(consumer, 500);
    CHECK(msg == NULL || msg->err || msg->partition != 1);
    strom_message_destroy(msg);
    CHECK_OK(strom_resume(consumer, more));
    msg = next_record(consumer, 15000);
    CHECK(msg != NULL && msg->partition == 1 && msg->offset == 0);
    strom_message_destroy(msg);

    /* Seek to the end through a list: the end is looked up as the
     * consumer polls, then the position shows it. */
    strom_topic_partition_list_set_offset(more, topic, 1, STROM_OFFSET_END);
    CHECK_OK(strom_seek_partitions(consumer, more, 1000));
    deadline = now_ms() + 5000;
    do {
        strom_message_destroy(strom_consumer_poll(consumer, 100));
        CHECK_OK(strom_position(consumer, more));
    } while (more->elems[0].offset != 5 && now_ms() < deadline);
    CHECK(more->elems[0].offset == 5);
    CHECK_OK(strom_incremental_unassign(consumer, more));
    CHECK_OK(strom_assignment(consumer, &assigned));
    CHECK(assigned->cnt == 1 && assigned->elems[0].partition == 0);
    strom_topic_partition_list_destroy(assigned);
    CHECK(strom_topic_partition_list_find(more, topic, 1) == &more->elems[0]);
    CHECK(strom_topic_partition_list_find(more, topic, 2) == NULL);

    strom_topic_partition_list_destroy(more);
    strom_topic_partition_list_destroy(list);
    CHECK_OK(strom_consumer_close(consumer));
    strom_destroy(consumer, 5000);
}
