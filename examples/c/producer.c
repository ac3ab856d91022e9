/*
 * producer.c: produce COUNT records to TOPIC and count their delivery
 * reports.
 *
 * Build (see README.md in this directory):
 *   PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig cmake -S examples/c -B build
 *   cmake --build build
 * Run:
 *   ./build/producer 127.0.0.1:9092 my-topic 100
 *
 * Each record has the key "key-N", the value "message N" and one header,
 * source=strom-example. The program exits 0 only if every record was
 * delivered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strom.h>

/* How long to wait for outstanding records at the end. */
#define FLUSH_TIMEOUT_MS 30000

/* What the delivery-report callback counts; handed to it as `opaque`. */
struct delivery_counts {
    long delivered;
    long failed;
};

/*
 * The delivery-report callback: called once per record, delivered or
 * failed, from strom_poll() and strom_flush() on this (the main) thread,
 * so the counters need no locking. `msg` is valid during the call only.
 */
static void on_delivery(strom_t *rk, const strom_message_t *msg, void *opaque) {
    struct delivery_counts *counts = opaque;
    (void)rk;
    if (msg->err) {
        /* The key is `key_len` bytes, not NUL-terminated (NULL: no key). */
        counts->failed++;
        fprintf(stderr, "delivery of %.*s failed: %s (%s)\n", (int)msg->key_len,
                msg->key ? (const char *)msg->key : "", strom_err2str(msg->err),
                strom_message_errstr(msg));
    } else {
        counts->delivered++;
    }
}

/* Sets one configuration property, printing why it was refused. */
static int set_conf(strom_conf_t *conf, const char *name, const char *value) {
    char errstr[512];
    if (strom_conf_set(conf, name, value, errstr, sizeof(errstr)) != STROM_CONF_OK) {
        fprintf(stderr, "%s=%s: %s\n", name, value, errstr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *bootstrap, *topic;
    long count = 10;
    struct delivery_counts counts = {0, 0};
    strom_conf_t *conf;
    strom_headers_t *hdrs;
    strom_t *rk;
    strom_resp_err_t err;
    char errstr[512];
    long i;

    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC [COUNT]\n", argv[0]);
        return 2;
    }
    bootstrap = argv[1];
    topic = argv[2];
    if (argc == 4) {
        char *end;
        count = strtol(argv[3], &end, 10);
        if (*end != '\0' || count < 0) {
            fprintf(stderr, "COUNT must be a number >= 0, not \"%s\"\n", argv[3]);
            return 2;
        }
    }

    /* The configuration: librdkafka's property names. */
    conf = strom_conf_new();
    if (set_conf(conf, "bootstrap.servers", bootstrap) || set_conf(conf, "acks", "all") ||
        set_conf(conf, "compression.type", "lz4")) {
        strom_conf_destroy(conf);
        return 1;
    }
    strom_conf_set_dr_msg_cb(conf, on_delivery);
    strom_conf_set_opaque(conf, &counts);

    /* On success the producer owns `conf`; on failure it is still ours. */
    rk = strom_producer_new(conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "cannot create the producer: %s\n", errstr);
        strom_conf_destroy(conf);
        return 1;
    }

    /* The headers every record carries: strom_produce() copies them. */
    hdrs = strom_headers_new(1);
    if (!hdrs) {
        fprintf(stderr, "strom_headers_new: %s\n", strom_last_error_string());
        strom_destroy(rk, 0);
        strom_shutdown(5000);
        return 1;
    }
    err = strom_header_add(hdrs, "source", -1, "strom-example", -1);
    if (err) {
        fprintf(stderr, "strom_header_add: %s\n", strom_last_error_string());
        strom_headers_destroy(hdrs);
        strom_destroy(rk, 0);
        strom_shutdown(5000);
        return 1;
    }

    for (i = 0; i < count; i++) {
        char key[32], value[64];
        int key_len = snprintf(key, sizeof(key), "key-%ld", i);
        int value_len = snprintf(value, sizeof(value), "message %ld", i);

        /*
         * strom_produce() only queues the record. When the queue is full,
         * serve delivery reports for a while (freeing room) and try again.
         */
        for (;;) {
            err = strom_produce(rk, topic, STROM_PARTITION_UA, key, (size_t)key_len, value,
                                (size_t)value_len, hdrs, 0 /* now */, NULL);
            if (err != STROM_RESP_ERR__QUEUE_FULL)
                break;
            strom_poll(rk, 100);
        }
        if (err) {
            fprintf(stderr, "cannot produce %s: %s: %s\n", key, strom_err2name(err),
                    strom_last_error_string());
            break;
        }
        /* Serve the delivery reports that are ready, without waiting. */
        strom_poll(rk, 0);
    }
    strom_headers_destroy(hdrs);

    /* Wait for every queued record to be delivered or to fail. */
    err = strom_flush(rk, FLUSH_TIMEOUT_MS);
    if (err)
        fprintf(stderr, "flush: %s: %s (%d records outstanding)\n", strom_err2name(err),
                strom_last_error_string(), strom_outq_len(rk));

    /*
     * strom_destroy() fails what is still undelivered (running its
     * delivery reports), so the counts are final afterwards. Then stop the
     * library's background threads.
     */
    strom_destroy(rk, 5000);
    strom_shutdown(5000);

    printf("delivered %ld of %ld\n", counts.delivered, count);
    return counts.delivered == count ? 0 : 1;
}
