/* Arguments a careless or hostile caller passes, and one handle used
 * from several threads at once. */
#include "harness.h"

#include <pthread.h>
#include <time.h>

void test_hostile_arguments_are_refused_cleanly(void) {
    char errstr[512], topic[128];
    unique_name("hostile", topic, sizeof topic);
    CHECK(create_topic(topic, 1));
    strom_conf_t *conf = make_conf(NULL);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    CHECK(producer != NULL);

    /* A value far over message.max.bytes is refused at once, not queued. */
    size_t big = 64 * 1024 * 1024;
    char *value = calloc(big, 1);
    CHECK(value != NULL);
    strom_resp_err_t err = strom_produce(producer, topic, 0, NULL, 0, value, big, NULL, 0, NULL);
    free(value);
    CHECK(err == STROM_RESP_ERR_MSG_SIZE_TOO_LARGE);
    CHECK(strom_outq_len(producer) == 0);

    /* Text that is not UTF-8 where the protocol needs a string. */
    const char bad_topic[] = {'t', (char)0xff, (char)0xfe, 0};
    CHECK(strom_produce(producer, bad_topic, 0, NULL, 0, "v", 1, NULL, 0, NULL) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strstr(strom_last_error_string(), "UTF-8") != NULL);
    strom_headers_t *hdrs = strom_headers_new(1);
    CHECK(strom_header_add(hdrs, bad_topic, -1, "v", 1) == STROM_RESP_ERR__INVALID_ARG);
    /* A name with a NUL inside, given by length. */
    CHECK(strom_header_add(hdrs, "a\0b", 3, "v", 1) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_header_cnt(hdrs) == 0);
    strom_headers_destroy(hdrs);
    CHECK(strom_produce(producer, topic, 0, NULL, 0, "v", 1, NULL, -5, NULL) == STROM_RESP_ERR__INVALID_ARG);

    /* An invalid topic name fails its record promptly (not after
     * delivery.timeout.ms), and flush returns. */
    CHECK_OK(strom_produce(producer, "bad topic!", STROM_PARTITION_UA, NULL, 0, "v", 1, NULL, 0, NULL));
    CHECK_OK(strom_flush(producer, 20000));
    strom_destroy(producer, 5000);

    /* Lists and batches with absurd sizes. */
    strom_topic_partition_list_t *list = strom_topic_partition_list_new(-5);
    CHECK(list != NULL && list->cnt == 0);
    strom_topic_partition_list_destroy(list);
    list = strom_topic_partition_list_new(2147483647);
    CHECK(list != NULL && list->cnt == 0);
    strom_topic_partition_list_destroy(list);
    conf = make_conf(NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    CHECK(strom_consume_batch(consumer, 0, NULL, 10) == -1);
    CHECK(strom_last_error() == STROM_RESP_ERR__INVALID_ARG);
    strom_message_t *messages[4];
    CHECK(strom_consume_batch(consumer, 0, messages, 0) == -1);
    CHECK(strom_seek(consumer, topic, 0, -7, 0) != STROM_RESP_ERR_NO_ERROR);
    strom_destroy(consumer, 5000);
}

#define THREADS 4
#define PER_THREAD 5000

struct shared_producer {
    strom_t *rk;
    const char *topic;
    int refused;
};

static void *produce_from_thread(void *arg) {
    struct shared_producer *shared = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        strom_resp_err_t err;
        while ((err = strom_produce(shared->rk, shared->topic, STROM_PARTITION_UA, "k", 1, "value", 5, NULL, 0,
                                    NULL)) == STROM_RESP_ERR__QUEUE_FULL) {
            struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        if (err)
            __atomic_add_fetch(&shared->refused, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void count_ok(strom_t *rk, const strom_message_t *msg, void *opaque) {
    (void)rk;
    if (!msg->err)
        (*(int *)opaque)++;
}

void test_one_producer_shared_by_threads(void) {
    char errstr[512], topic[128];
    unique_name("threads", topic, sizeof topic);
    CHECK(create_topic(topic, 3));
    int delivered = 0;
    strom_conf_t *conf = make_conf("queue.buffering.max.messages", "2000", NULL);
    CHECK(conf != NULL);
    strom_conf_set_dr_msg_cb(conf, count_ok);
    strom_conf_set_opaque(conf, &delivered);
    struct shared_producer shared = {strom_producer_new(conf, errstr, sizeof errstr), topic, 0};
    CHECK(shared.rk != NULL);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, produce_from_thread, &shared) == 0);
    /* Delivery reports are served here, on this thread, meanwhile. */
    long long deadline = now_ms() + 60000;
    while (delivered < THREADS * PER_THREAD && now_ms() < deadline)
        strom_poll(shared.rk, 50);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    CHECK_OK(strom_flush(shared.rk, 30000));
    CHECK(shared.refused == 0);
    CHECK(delivered == THREADS * PER_THREAD);
    strom_destroy(shared.rk, 5000);

    strom_t *admin = new_admin();
    CHECK(admin != NULL);
    int64_t total = 0;
    for (int p = 0; p < 3; p++) {
        int64_t low, high;
        CHECK_OK(strom_query_watermark_offsets(admin, topic, p, &low, &high, 10000));
        total += high;
    }
    CHECK(total == THREADS * PER_THREAD);
    strom_destroy(admin, 5000);
}
