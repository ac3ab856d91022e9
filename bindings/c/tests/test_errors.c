/* Error paths: refused settings, NULL and wrong handles, the code tables,
 * an unknown topic and a broker that is down. */
#include "harness.h"

#include <pthread.h>

void test_conf_refuses_unknown_and_invalid_settings(void) {
    char errstr[256];
    strom_conf_t *conf = strom_conf_new();
    CHECK(conf != NULL);
    CHECK(strom_conf_set(conf, "bootstrap.servers", "127.0.0.1:9092", errstr, sizeof errstr) == STROM_CONF_OK);
    CHECK(strom_conf_set(conf, "no.such.setting", "1", errstr, sizeof errstr) == STROM_CONF_UNKNOWN);
    CHECK(strstr(errstr, "no.such.setting") != NULL);
    CHECK(strom_conf_set(conf, "acks", "seven", errstr, sizeof errstr) == STROM_CONF_INVALID);
    CHECK(strstr(errstr, "acks") != NULL);
    CHECK(strom_last_error() == STROM_RESP_ERR__INVALID_ARG);
    /* A tiny buffer gets a truncated, NUL-terminated message. */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    CHECK(strom_conf_set(conf, "no.such.setting", "1", tiny, sizeof tiny) == STROM_CONF_UNKNOWN);
    CHECK(strlen(tiny) == sizeof tiny - 1);
    /* errstr may be NULL; a bad bootstrap address is refused. */
    CHECK(strom_conf_set(conf, "no.such.setting", "1", NULL, 0) == STROM_CONF_UNKNOWN);
    CHECK(strom_conf_set(conf, "bootstrap.servers", "no-port", errstr, sizeof errstr) == STROM_CONF_INVALID);
    strom_conf_t *copy = strom_conf_dup(conf);
    CHECK(copy != NULL);
    strom_conf_destroy(copy);
    strom_conf_destroy(conf);
}

void test_null_arguments_get_invalid_arg(void) {
    char errstr[256];
    CHECK(strom_produce(NULL, "t", -1, NULL, 0, "v", 1, NULL, 0, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strstr(strom_last_error_string(), "rk is NULL") != NULL);
    CHECK(strom_consumer_poll(NULL, 0) == NULL);
    CHECK(strom_last_error() == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_flush(NULL, 0) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_subscribe(NULL, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_commit(NULL, NULL, 0) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_assign(NULL, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_position(NULL, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_seek(NULL, "t", 0, 0, 0) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_pause(NULL, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_consumer_close(NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_outq_len(NULL) == -1);
    CHECK(strom_poll(NULL, 0) == 0);
    const strom_metadata_t *metadata = NULL;
    CHECK(strom_metadata(NULL, NULL, &metadata, 1000) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(metadata == NULL);
    CHECK(strom_create_topic(NULL, "t", 1, 1, NULL, 0, 1000) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_producer_new(NULL, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "conf is NULL") != NULL);
    CHECK(strom_conf_set(NULL, "acks", "1", errstr, sizeof errstr) == STROM_CONF_INVALID);
    CHECK(strom_topic_partition_list_add(NULL, "t", 0) == NULL);
    CHECK(strom_message_errstr(NULL) != NULL);
    const strom_headers_t *headers = NULL;
    CHECK(strom_message_headers(NULL, &headers) == STROM_RESP_ERR__INVALID_ARG);
    /* Freeing NULL does nothing. */
    strom_destroy(NULL, 0);
    strom_message_destroy(NULL);
    strom_conf_destroy(NULL);
    strom_headers_destroy(NULL);
    strom_topic_partition_list_destroy(NULL);
    strom_metadata_destroy(NULL);
    strom_group_list_destroy(NULL);
    strom_config_entries_destroy(NULL);

    strom_headers_t *hdrs = strom_headers_new(2);
    CHECK(strom_header_add(hdrs, NULL, -1, "v", -1) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_header_add(hdrs, "name", -2, "v", -1) == STROM_RESP_ERR__INVALID_ARG);
    CHECK_OK(strom_header_add(hdrs, "name", -1, NULL, 0));
    const void *value = (const void *)1;
    size_t size = 9;
    CHECK_OK(strom_header_get_last(hdrs, "name", &value, &size));
    CHECK(value == NULL && size == 0);
    CHECK(strom_header_get_last(hdrs, "other", &value, &size) == STROM_RESP_ERR__NOENT);
    const char *name = NULL;
    CHECK(strom_header_get_all(hdrs, 1, &name, &value, &size) == STROM_RESP_ERR__NOENT);
    strom_headers_destroy(hdrs);

    strom_topic_partition_list_t *list = strom_topic_partition_list_new(0);
    CHECK(strom_topic_partition_list_add(list, NULL, 0) == NULL);
    CHECK(list->cnt == 0);
    strom_topic_partition_list_destroy(list);
}

void test_error_codes_have_librdkafka_names(void) {
    CHECK(strcmp(strom_err2name(STROM_RESP_ERR__TIMED_OUT), "_TIMED_OUT") == 0);
    CHECK(STROM_RESP_ERR__TIMED_OUT == -185);
    CHECK(strcmp(strom_err2name(STROM_RESP_ERR_UNKNOWN_TOPIC_OR_PART), "UNKNOWN_TOPIC_OR_PART") == 0);
    CHECK(STROM_RESP_ERR_UNKNOWN_TOPIC_OR_PARTITION == STROM_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    CHECK(strcmp(strom_err2name(STROM_RESP_ERR_NO_ERROR), "NO_ERROR") == 0);
    CHECK(strlen(strom_err2str(STROM_RESP_ERR__QUEUE_FULL)) > 10);
    CHECK(strlen(strom_err2str(STROM_RESP_ERR_NOT_COORDINATOR)) > 10);
    CHECK(strcmp(strom_err2name(12345), "_UNKNOWN") == 0);
    CHECK(strom_err2str(-12345) != NULL);
    CHECK(strom_err_retriable(STROM_RESP_ERR_NOT_LEADER_OR_FOLLOWER) == 1);
    CHECK(strom_err_retriable(STROM_RESP_ERR__TRANSPORT) == 1);
    CHECK(strom_err_retriable(STROM_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) == 0);
    CHECK(strom_err_retriable(STROM_RESP_ERR__INVALID_ARG) == 0);
    CHECK(strlen(strom_version_str()) > 0);
}

void test_calls_need_the_right_kind_of_handle(void) {
    char errstr[256];
    strom_conf_t *conf = make_conf("group.id", "kinds", NULL);
    CHECK(conf != NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    CHECK(strom_produce(consumer, "t", -1, NULL, 0, "v", 1, NULL, 0, NULL) == STROM_RESP_ERR__STATE);
    CHECK(strstr(strom_last_error_string(), "producer") != NULL);
    CHECK(strom_flush(consumer, 0) == STROM_RESP_ERR__STATE);
    CHECK(strom_outq_len(consumer) == -1);
    CHECK(strom_last_error() == STROM_RESP_ERR__STATE);
    CHECK(strcmp(strom_rebalance_protocol(consumer), "NONE") == 0);
    CHECK(strom_memberid(consumer) == NULL);
    strom_mem_free(NULL);
    /* Each call starts clean: a poll that found nothing is not an error. */
    CHECK(strom_consumer_poll(consumer, 0) == NULL);
    CHECK(strom_last_error() == STROM_RESP_ERR_NO_ERROR);
    CHECK(strcmp(strom_last_error_string(), "") == 0);
    strom_destroy(consumer, 5000);

    conf = make_conf(NULL);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    CHECK(producer != NULL);
    CHECK(strom_consumer_poll(producer, 0) == NULL);
    CHECK(strom_last_error() == STROM_RESP_ERR__STATE);
    CHECK(strom_subscribe(producer, NULL) == STROM_RESP_ERR__STATE);
    /* A negative partition other than STROM_PARTITION_UA is refused. */
    CHECK(strom_produce(producer, "t", -2, NULL, 0, "v", 1, NULL, 0, NULL) == STROM_RESP_ERR__INVALID_ARG);
    strom_destroy(producer, 5000);
}

void test_unknown_topic_is_reported(void) {
    char errstr[256], topic[128];
    unique_name("missing", topic, sizeof topic);
    strom_conf_t *conf = make_conf(NULL);
    strom_t *admin = strom_admin_new(conf, errstr, sizeof errstr);
    CHECK(admin != NULL);
    CHECK(strom_delete_topic(admin, topic, 10000) == STROM_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    CHECK(strstr(strom_last_error_string(), "UNKNOWN_TOPIC_OR_PARTITION") != NULL);
    const strom_metadata_t *metadata = NULL;
    CHECK_OK(strom_metadata(admin, topic, &metadata, 10000));
    CHECK(metadata->topic_cnt == 1);
    CHECK(metadata->topics[0].err == STROM_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    CHECK(metadata->broker_cnt >= 1);
    strom_metadata_destroy(metadata);
    int64_t low = 0, high = 0;
    CHECK(strom_query_watermark_offsets(admin, topic, 0, &low, &high, 10000) != STROM_RESP_ERR_NO_ERROR);
    strom_destroy(admin, 5000);
}

/* Strom's clients connect when they are made: with no broker to reach,
 * strom_*_new() fails at once and says which address it tried. */
void test_broker_down(void) {
    char errstr[512];
    strom_conf_t *conf = strom_conf_new();
    CHECK(strom_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", errstr, sizeof errstr) == STROM_CONF_OK);
    CHECK(strom_conf_set(conf, "default.api.timeout.ms", "1500", errstr, sizeof errstr) == STROM_CONF_OK);
    strom_conf_t *admin_conf = strom_conf_dup(conf);
    strom_conf_t *consumer_conf = strom_conf_dup(conf);

    CHECK(strom_producer_new(conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "127.0.0.1:1") != NULL);
    CHECK(strom_last_error() == STROM_RESP_ERR__TRANSPORT);
    strom_conf_destroy(conf);

    errstr[0] = 0;
    CHECK(strom_admin_new(admin_conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "127.0.0.1:1") != NULL);
    strom_conf_destroy(admin_conf);

    errstr[0] = 0;
    CHECK(strom_consumer_new(consumer_conf, errstr, sizeof errstr) == NULL);
    CHECK(strstr(errstr, "127.0.0.1:1") != NULL);
    strom_conf_destroy(consumer_conf);
}

struct destroy_report {
    int reports;
    int destroyed;
};

static void destroy_dr(strom_t *rk, const strom_message_t *msg, void *opaque) {
    (void)rk;
    struct destroy_report *report = opaque;
    report->reports++;
    if (msg->err == STROM_RESP_ERR__DESTROY && msg->len == 1 && memcmp(msg->payload, "v", 1) == 0)
        report->destroyed++;
}

/* strom_destroy() with records that cannot be delivered (to a topic that
 * does not exist, with auto-creation off: they wait for it up to
 * message.timeout.ms) returns
 * within its timeout and fails them with _DESTROY. The bound is a
 * liveness check with a wide margin, not a timing. */
void test_destroy_does_not_hang(void) {
    char errstr[512], topic[128];
    unique_name("destroy", topic, sizeof topic);
    struct destroy_report report = {0, 0};
    strom_conf_t *conf = make_conf("allow.auto.create.topics", "false", NULL);
    CHECK(conf != NULL);
    strom_conf_set_dr_msg_cb(conf, destroy_dr);
    strom_conf_set_opaque(conf, &report);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    CHECK(producer != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(strom_produce(producer, topic, STROM_PARTITION_UA, NULL, 0, "v", 1, NULL, 0, NULL) == STROM_RESP_ERR_NO_ERROR);
    CHECK(strom_flush(producer, 200) == STROM_RESP_ERR__TIMED_OUT);
    CHECK(strom_outq_len(producer) == 100);
    long long start = now_ms();
    strom_destroy(producer, 500);
    CHECK(now_ms() - start < 10000);
    CHECK(report.reports == 100);
    CHECK(report.destroyed == 100);
}
