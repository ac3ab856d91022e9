/* Cross-client with kcat (librdkafka): what libstrom writes kcat reads,
 * and the other way round. */
#include "harness.h"

#include <stdio.h>

#define COUNT 25

void test_kcat_reads_what_libstrom_writes(void) {
    char errstr[512], topic[128], command[512], line[512];
    unique_name("to-kcat", topic, sizeof topic);
    CHECK(create_topic(topic, 1));
    strom_conf_t *conf = make_conf("compression.type", "zstd", NULL);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    CHECK(producer != NULL);
    for (int i = 0; i < COUNT; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(value, sizeof value, "v%d", i);
        strom_headers_t *hdrs = strom_headers_new(1);
        strom_header_add(hdrs, "origin", -1, "libstrom", -1);
        CHECK_OK(strom_produce(producer, topic, 0, key, strlen(key), value, strlen(value), hdrs, 0, NULL));
        strom_headers_destroy(hdrs);
    }
    CHECK_OK(strom_flush(producer, 30000));
    strom_destroy(producer, 5000);

    snprintf(command, sizeof command, "kcat -C -b %s -t %s -e -q -f '%%o|%%k|%%s|%%h\\n'", bootstrap(), topic);
    FILE *kcat = popen(command, "r");
    CHECK(kcat != NULL);
    int read = 0, matched = 0;
    while (fgets(line, sizeof line, kcat)) {
        char expected[128];
        snprintf(expected, sizeof expected, "%d|k%d|v%d|origin=libstrom\n", read, read, read);
        matched += strcmp(line, expected) == 0;
        read++;
    }
    CHECK(pclose(kcat) == 0);
    CHECK(read == COUNT);
    CHECK(matched == COUNT);
}

void test_libstrom_reads_what_kcat_writes(void) {
    char errstr[512], topic[128], command[512];
    unique_name("from-kcat", topic, sizeof topic);
    CHECK(create_topic(topic, 1));
    snprintf(command, sizeof command, "kcat -P -b %s -t %s -p 0 -K: -H origin=kcat -z lz4", bootstrap(), topic);
    FILE *kcat = popen(command, "w");
    CHECK(kcat != NULL);
    for (int i = 0; i < COUNT; i++)
        fprintf(kcat, "k%d:v%d\n", i, i);
    CHECK(pclose(kcat) == 0);

    strom_conf_t *conf = make_conf(NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    strom_topic_partition_list_t *list = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(list, topic, 0)->offset = STROM_OFFSET_BEGINNING;
    CHECK_OK(strom_assign(consumer, list));
    strom_topic_partition_list_destroy(list);
    int read = 0, matched = 0;
    long long deadline = now_ms() + 20000;
    while (read < COUNT && now_ms() < deadline) {
        strom_message_t *msg = strom_consumer_poll(consumer, 200);
        if (!msg || msg->err) {
            strom_message_destroy(msg);
            continue;
        }
        char key[32], value[32];
        snprintf(key, sizeof key, "k%d", read);
        snprintf(value, sizeof value, "v%d", read);
        const strom_headers_t *hdrs = NULL;
        const void *origin = NULL;
        size_t size = 0;
        int has_header = strom_message_headers(msg, &hdrs) == STROM_RESP_ERR_NO_ERROR &&
                         strom_header_get_last(hdrs, "origin", &origin, &size) == STROM_RESP_ERR_NO_ERROR &&
                         size == 4 && memcmp(origin, "kcat", 4) == 0;
        matched += msg->offset == read && msg->key_len == strlen(key) && memcmp(msg->key, key, msg->key_len) == 0 &&
                   msg->len == strlen(value) && memcmp(msg->payload, value, msg->len) == 0 && has_header;
        read++;
        strom_message_destroy(msg);
    }
    strom_destroy(consumer, 5000);
    CHECK(read == COUNT);
    CHECK(matched == COUNT);
}
