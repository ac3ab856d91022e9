/* shim.h over libstrom (c-include/strom.h). */
#include <stdlib.h>

#include <strom.h>

#include "shim.h"

#define CLOSE_MS 30000

struct shim {
    strom_t *rk;
    int consumer;
};

const char SHIM_LIBRARY[] = "libstrom";

const char *shim_version(void) { return strom_version_str(); }

static void dr_msg(strom_t *rk, const strom_message_t *msg, void *opaque) {
    (void)rk, (void)opaque;
    delivered(msg->err ? strom_message_errstr(msg) : NULL);
}

static strom_conf_t *conf_of(const char *const *settings) {
    strom_conf_t *conf = strom_conf_new();
    char errstr[512];
    for (; settings[0]; settings += 2)
        if (strom_conf_set(conf, settings[0], settings[1], errstr, sizeof errstr) != STROM_CONF_OK)
            fail(settings[0], errstr);
    return conf;
}

static shim *made(strom_t *rk, int consumer, const char *errstr) {
    if (!rk)
        fail(consumer ? "strom_consumer_new" : "strom_producer_new", errstr);
    shim *h = malloc(sizeof *h);
    h->rk = rk;
    h->consumer = consumer;
    return h;
}

shim *shim_producer_new(const char *const *settings) {
    strom_conf_t *conf = conf_of(settings);
    char errstr[512];
    strom_conf_set_dr_msg_cb(conf, dr_msg);
    return made(strom_producer_new(conf, errstr, sizeof errstr), 0, errstr);
}

shim *shim_consumer_new(const char *const *settings) {
    char errstr[512];
    return made(strom_consumer_new(conf_of(settings), errstr, sizeof errstr), 1, errstr);
}

void shim_subscribe(shim *c, const char *topic) {
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, topic, STROM_PARTITION_UA);
    if (strom_subscribe(c->rk, topics))
        fail("strom_subscribe", strom_last_error_string());
    strom_topic_partition_list_destroy(topics);
}

int shim_produce(shim *p, const char *topic, const void *value, size_t len) {
    strom_resp_err_t err = strom_produce(p->rk, topic, STROM_PARTITION_UA, NULL, 0, value, len, NULL, 0, NULL);
    if (err == STROM_RESP_ERR__QUEUE_FULL)
        return 1;
    if (err)
        note_error("strom_produce", strom_last_error_string());
    return err ? -1 : 0;
}

void shim_poll(shim *p, int timeout_ms) { strom_poll(p->rk, timeout_ms); }

int shim_flush(shim *p, int timeout_ms) {
    if (!strom_flush(p->rk, timeout_ms))
        return 0;
    note_error("strom_flush", strom_last_error_string());
    return -1;
}

/* A record's bytes, or an event's error noted; the message is freed. */
static int take(strom_message_t *msg, size_t *bytes) {
    int record = !msg->err;
    if (record)
        *bytes += msg->len;
    else
        note_error("consumer event", strom_message_errstr(msg));
    strom_message_destroy(msg);
    return record;
}

int shim_consume(shim *c, int max, int timeout_ms, size_t *bytes) {
    strom_message_t *msgs[max];
    ptrdiff_t got;
    if (max == 1) {
        msgs[0] = strom_consumer_poll(c->rk, timeout_ms);
        got = msgs[0] != NULL;
    } else {
        got = strom_consume_batch(c->rk, timeout_ms, msgs, (size_t)max);
    }
    if (got <= 0) { /* NULL: no record in time, or the call failed */
        if (strom_last_error())
            note_error(max == 1 ? "strom_consumer_poll" : "strom_consume_batch", strom_last_error_string());
        return 0;
    }
    int records = 0;
    for (ptrdiff_t i = 0; i < got; i++)
        records += take(msgs[i], bytes);
    return records;
}

void shim_close(shim *h) {
    if (h->consumer && strom_consumer_close(h->rk))
        note_error("strom_consumer_close", strom_last_error_string());
    strom_destroy(h->rk, CLOSE_MS);
    strom_shutdown(CLOSE_MS);
    free(h);
}
