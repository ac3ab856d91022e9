/* Statistics (strom_conf_set_stats_cb, librdkafka's stats_cb): with
 * statistics.interval.ms set, a producer's JSON arrives from strom_poll()
 * on the polling thread and counts the records delivered; a consumer's
 * arrives from strom_consumer_poll() and counts the records read. */
#include <pthread.h>

#include "harness.h"

#define STATS_RECORDS 25

struct stats_seen {
    int calls;
    int well_formed;
    int other_thread;
    pthread_t poller;
    long long txmsgs;
    long long rxmsgs;
    char type[16];
    char *kept; /* a statistics object the callback took (returned 1) */
};

/* The integer after `"field":` in a compact JSON object, or -1. */
static long long json_int(const char *json, const char *field) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", field);
    const char *at = strstr(json, pattern);
    return at ? atoll(at + strlen(pattern)) : -1;
}

static int on_stats(strom_t *rk, char *json, size_t json_len, void *opaque) {
    struct stats_seen *seen = opaque;
    seen->calls++;
    if (rk && json && strlen(json) == json_len && json[0] == '{' && json[json_len - 1] == '}')
        seen->well_formed++;
    if (!pthread_equal(pthread_self(), seen->poller))
        seen->other_thread++;
    seen->txmsgs = json_int(json, "txmsgs");
    seen->rxmsgs = json_int(json, "rxmsgs");
    const char *type = strstr(json, "\"type\":\"");
    if (type)
        snprintf(seen->type, sizeof seen->type, "%.8s", type + strlen("\"type\":\""));
    if (!seen->kept) {
        seen->kept = json; /* librdkafka's "return 1": the application frees it */
        return 1;
    }
    return 0;
}

void test_statistics_arrive_from_poll(void) {
    char topic[64], group[64], errstr[512];
    unique_name("c-stats", topic, sizeof topic);
    unique_name("c-stats-group", group, sizeof group);
    CHECK(create_topic(topic, 1));

    struct stats_seen produced = {0};
    produced.poller = pthread_self();
    strom_conf_t *conf = make_conf("statistics.interval.ms", "100", "linger.ms", "5", NULL);
    CHECK(conf);
    strom_conf_set_stats_cb(conf, on_stats);
    strom_conf_set_opaque(conf, &produced);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    if (!producer)
        strom_conf_destroy(conf);
    CHECK(producer);
    for (int i = 0; i < STATS_RECORDS; i++) {
        char value[32];
        snprintf(value, sizeof value, "value-%d", i);
        CHECK_OK(strom_produce(producer, topic, 0, NULL, 0, value, strlen(value), NULL, 0, NULL));
    }
    CHECK_OK(strom_flush(producer, 30000));
    long long deadline = now_ms() + 30000;
    while (produced.txmsgs != STATS_RECORDS && now_ms() < deadline)
        strom_poll(producer, 200);
    strom_destroy(producer, 5000);
    CHECK(produced.txmsgs == STATS_RECORDS);
    CHECK(produced.calls >= 1 && produced.well_formed == produced.calls);
    CHECK(produced.other_thread == 0);
    CHECK(strncmp(produced.type, "producer", 8) == 0);
    CHECK(produced.kept && produced.kept[0] == '{');
    strom_mem_free(produced.kept);

    struct stats_seen consumed = {0};
    consumed.poller = pthread_self();
    conf = make_conf("statistics.interval.ms", "100", "group.id", group, "auto.offset.reset", "earliest", NULL);
    CHECK(conf);
    strom_conf_set_stats_cb(conf, on_stats);
    strom_conf_set_opaque(conf, &consumed);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    if (!consumer)
        strom_conf_destroy(conf);
    CHECK(consumer);
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, topic, -1);
    strom_resp_err_t subscribed = strom_subscribe(consumer, topics);
    strom_topic_partition_list_destroy(topics);
    int read = 0;
    deadline = now_ms() + 30000;
    while (subscribed == STROM_RESP_ERR_NO_ERROR && (read < STATS_RECORDS || consumed.rxmsgs != STATS_RECORDS) &&
           now_ms() < deadline) {
        strom_message_t *msg = strom_consumer_poll(consumer, 200);
        if (msg && !msg->err)
            read++;
        strom_message_destroy(msg);
    }
    strom_consumer_close(consumer);
    strom_destroy(consumer, 5000);
    CHECK_OK(subscribed);
    CHECK(read == STATS_RECORDS);
    CHECK(consumed.rxmsgs == STATS_RECORDS);
    CHECK(consumed.well_formed == consumed.calls && consumed.other_thread == 0);
    CHECK(strncmp(consumed.type, "consumer", 8) == 0);
    strom_mem_free(consumed.kept);
}
