#include "harness.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

int test_failed;

void test_fail(const char *file, int line, const char *what) {
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, what);
    test_failed = 1;
}

const char *bootstrap(void) {
    const char *address = getenv("STROM_C_BOOTSTRAP");
    return address ? address : "127.0.0.1:9092";
}

int on_kafka(void) {
    const char *kafka = getenv("STROM_TEST_KAFKA");
    return kafka && strcmp(kafka, "1") == 0;
}

char *unique_name(const char *prefix, char *buf, size_t size) {
    static int counter;
    snprintf(buf, size, "%s-%ld-%lld-%d", prefix, (long)getpid(), now_ms() % 1000000, counter++);
    return buf;
}

strom_conf_t *make_conf(const char *name, ...) {
    char errstr[512];
    strom_conf_t *conf = strom_conf_new();
    if (strom_conf_set(conf, "bootstrap.servers", bootstrap(), errstr, sizeof errstr) != STROM_CONF_OK) {
        fprintf(stderr, "    bootstrap.servers: %s\n", errstr);
        strom_conf_destroy(conf);
        return NULL;
    }
    va_list args;
    va_start(args, name);
    for (const char *key = name; key; key = va_arg(args, const char *)) {
        const char *value = va_arg(args, const char *);
        if (strom_conf_set(conf, key, value, errstr, sizeof errstr) != STROM_CONF_OK) {
            fprintf(stderr, "    %s=%s: %s\n", key, value, errstr);
            strom_conf_destroy(conf);
            conf = NULL;
            break;
        }
    }
    va_end(args);
    return conf;
}

long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

strom_t *new_admin(void) {
    char errstr[512];
    strom_conf_t *conf = make_conf(NULL);
    strom_t *admin = strom_admin_new(conf, errstr, sizeof errstr);
    if (!admin) {
        fprintf(stderr, "    strom_admin_new: %s\n", errstr);
        strom_conf_destroy(conf);
    }
    return admin;
}

int create_topic(const char *topic, int partitions) {
    strom_t *admin = new_admin();
    if (!admin)
        return 0;
    strom_resp_err_t err = strom_create_topic(admin, topic, partitions, 1, NULL, 0, 30000);
    if (err)
        fprintf(stderr, "    create %s: %s\n", topic, strom_last_error_string());
    strom_destroy(admin, 5000);
    return err == STROM_RESP_ERR_NO_ERROR;
}

strom_message_t *next_record(strom_t *consumer, int ms) {
    long long deadline = now_ms() + ms;
    while (now_ms() < deadline) {
        strom_message_t *msg = strom_consumer_poll(consumer, 200);
        if (msg && !msg->err)
            return msg;
        strom_message_destroy(msg);
    }
    return NULL;
}

static void count_delivered(strom_t *rk, const strom_message_t *msg, void *opaque) {
    (void)rk;
    if (msg->err == STROM_RESP_ERR_NO_ERROR)
        (*(int *)opaque)++;
}

int produce_records(const char *topic, int partition, int count, const char *codec) {
    char errstr[512];
    int delivered = 0;
    strom_conf_t *conf = make_conf("compression.type", codec ? codec : "none", "linger.ms", "5", NULL);
    strom_conf_set_dr_msg_cb(conf, count_delivered);
    strom_conf_set_opaque(conf, &delivered);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    if (!producer) {
        fprintf(stderr, "    strom_producer_new: %s\n", errstr);
        strom_conf_destroy(conf);
        return 0;
    }
    for (int i = 0; i < count; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(value, sizeof value, "value-%d", i);
        strom_resp_err_t err;
        while ((err = strom_produce(producer, topic, partition, key, strlen(key), value, strlen(value),
                                    NULL, 0, NULL)) == STROM_RESP_ERR__QUEUE_FULL)
            strom_poll(producer, 100);
        if (err)
            fprintf(stderr, "    produce: %s\n", strom_last_error_string());
    }
    strom_flush(producer, 30000);
    strom_destroy(producer, 5000);
    return delivered;
}
