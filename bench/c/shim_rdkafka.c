/* shim.h over librdkafka (librdkafka/rdkafka.h). */
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "shim.h"

#define CLOSE_MS 30000

struct shim {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* a consumer's queue, for the batch call */
};

const char SHIM_LIBRARY[] = "librdkafka";

const char *shim_version(void) { return rd_kafka_version_str(); }

static void dr_msg(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk, (void)opaque;
    delivered(msg->err ? rd_kafka_err2str(msg->err) : NULL);
}

static rd_kafka_conf_t *conf_of(const char *const *settings) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[512];
    for (; settings[0]; settings += 2)
        if (rd_kafka_conf_set(conf, settings[0], settings[1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
            fail(settings[0], errstr);
    return conf;
}

static shim *made(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk)
        fail("rd_kafka_new", errstr);
    shim *h = calloc(1, sizeof *h);
    h->rk = rk;
    return h;
}

shim *shim_producer_new(const char *const *settings) {
    rd_kafka_conf_t *conf = conf_of(settings);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg);
    return made(RD_KAFKA_PRODUCER, conf);
}

shim *shim_consumer_new(const char *const *settings) {
    shim *c = made(RD_KAFKA_CONSUMER, conf_of(settings));
    rd_kafka_poll_set_consumer(c->rk); /* every event through the consumer's queue */
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    return c;
}

void shim_subscribe(shim *c, const char *topic) {
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    if (err)
        fail("rd_kafka_subscribe", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(topics);
}

int shim_produce(shim *p, const char *topic, const void *value, size_t len) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return 1;
    if (err)
        note_error("rd_kafka_producev", rd_kafka_err2str(err));
    return err ? -1 : 0;
}

void shim_poll(shim *p, int timeout_ms) { rd_kafka_poll(p->rk, timeout_ms); }

int shim_flush(shim *p, int timeout_ms) {
    rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
    if (err)
        note_error("rd_kafka_flush", rd_kafka_err2str(err));
    return err ? -1 : 0;
}

/* A record's bytes, or an event's error noted; the message is freed. */
static int take(rd_kafka_message_t *msg, size_t *bytes) {
    int record = !msg->err;
    if (record)
        *bytes += msg->len;
    else
        note_error("consumer event", rd_kafka_message_errstr(msg));
    rd_kafka_message_destroy(msg);
    return record;
}

int shim_consume(shim *c, int max, int timeout_ms, size_t *bytes) {
    rd_kafka_message_t *msgs[max];
    ssize_t got;
    if (max == 1) {
        msgs[0] = rd_kafka_consumer_poll(c->rk, timeout_ms);
        got = msgs[0] != NULL;
    } else {
        got = rd_kafka_consume_batch_queue(c->queue, timeout_ms, msgs, (size_t)max);
    }
    if (got < 0)
        note_error("rd_kafka_consume_batch_queue", rd_kafka_err2str(rd_kafka_last_error()));
    int records = 0;
    for (ssize_t i = 0; i < got; i++)
        records += take(msgs[i], bytes);
    return records;
}

void shim_close(shim *h) {
    if (h->queue) {
        rd_kafka_queue_destroy(h->queue);
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(h->rk);
        if (err)
            note_error("rd_kafka_consumer_close", rd_kafka_err2str(err));
    }
    rd_kafka_destroy(h->rk);
    rd_kafka_wait_destroyed(CLOSE_MS);
    free(h);
}
