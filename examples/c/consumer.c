/*
 * consumer.c: join consumer group GROUP, read up to MAX records of TOPIC
 * from the beginning and commit how far it read.
 *
 * Build (see README.md in this directory):
 *   PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig cmake -S examples/c -B build
 *   cmake --build build
 * Run:
 *   ./build/consumer 127.0.0.1:9092 my-group my-topic 100
 *
 * Each record is printed as `TOPIC [PARTITION] @OFFSET: KEY = VALUE`,
 * followed by its headers. It stops after MAX records (default 10), after
 * 10 seconds without a record, or on Ctrl-C / SIGTERM, and exits 0 only
 * if it read MAX records.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <strom.h>

/* Stop when this long passes without a record. */
#define IDLE_SECONDS 10
/* How long one strom_consumer_poll() waits: how often `stop` is checked. */
#define POLL_TIMEOUT_MS 500

/* Set by the signal handler; the poll loop checks it. */
static volatile sig_atomic_t stop = 0;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

/* Prints `bytes` (`len` bytes, not NUL-terminated), or (null) for NULL. */
static void print_bytes(const void *bytes, size_t len) {
    if (bytes)
        printf("%.*s", (int)len, (const char *)bytes);
    else
        printf("(null)");
}

/* Prints a partition list as "TOPIC [P], TOPIC [P], ...". */
static void print_partitions(const strom_topic_partition_list_t *partitions) {
    int i;
    if (partitions->cnt == 0)
        printf("(none)");
    for (i = 0; i < partitions->cnt; i++)
        printf("%s%s [%d]", i ? ", " : "", partitions->elems[i].topic,
               (int)partitions->elems[i].partition);
    printf("\n");
}

/*
 * The rebalance callback, run inside strom_consumer_poll() (and
 * strom_consumer_close()). The consumer takes and gives up the partitions
 * itself: this one only reports them. `partitions` belongs to the library
 * and is valid during the call only.
 */
static void on_rebalance(strom_t *rk, strom_resp_err_t err,
                         strom_topic_partition_list_t *partitions, void *opaque) {
    (void)opaque;
    if (err == STROM_RESP_ERR__ASSIGN_PARTITIONS) {
        printf("assigned: ");
        print_partitions(partitions);
    } else if (err == STROM_RESP_ERR__REVOKE_PARTITIONS) {
        printf("%s: ", strom_assignment_lost(rk) ? "lost" : "revoked");
        print_partitions(partitions);
    } else {
        printf("rebalance: %s\n", strom_err2str(err));
    }
    fflush(stdout);
}

/* Prints one record and its headers. */
static void print_record(const strom_message_t *msg) {
    const strom_headers_t *hdrs;

    printf("%s [%d] @%lld: ", msg->topic, (int)msg->partition, (long long)msg->offset);
    print_bytes(msg->key, msg->key_len);
    printf(" = ");
    print_bytes(msg->payload, msg->len);
    printf("\n");

    /* The headers belong to the message: never destroy them. */
    if (strom_message_headers(msg, &hdrs) == STROM_RESP_ERR_NO_ERROR) {
        size_t i, cnt = strom_header_cnt(hdrs);
        for (i = 0; i < cnt; i++) {
            const char *name;
            const void *value;
            size_t size;
            if (strom_header_get_all(hdrs, i, &name, &value, &size))
                break;
            printf("    header %s = ", name);
            print_bytes(value, size);
            printf("\n");
        }
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
    const char *bootstrap, *group, *topic;
    long max = 10, received = 0;
    strom_conf_t *conf;
    strom_topic_partition_list_t *topics;
    strom_t *rk;
    strom_resp_err_t err;
    char errstr[512];
    time_t last_record;
    int failed = 0;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s BOOTSTRAP GROUP TOPIC [MAX]\n", argv[0]);
        return 2;
    }
    bootstrap = argv[1];
    group = argv[2];
    topic = argv[3];
    if (argc == 5) {
        char *end;
        max = strtol(argv[4], &end, 10);
        if (*end != '\0' || max < 1) {
            fprintf(stderr, "MAX must be a number >= 1, not \"%s\"\n", argv[4]);
            return 2;
        }
    }

    /*
     * Start from the beginning when the group has no committed offset,
     * report partition ends as events, and commit only when told to (at
     * the end) instead of in the background.
     */
    conf = strom_conf_new();
    if (set_conf(conf, "bootstrap.servers", bootstrap) || set_conf(conf, "group.id", group) ||
        set_conf(conf, "auto.offset.reset", "earliest") ||
        set_conf(conf, "enable.partition.eof", "true") ||
        set_conf(conf, "enable.auto.commit", "false")) {
        strom_conf_destroy(conf);
        return 1;
    }
    strom_conf_set_rebalance_cb(conf, on_rebalance);

    /* On success the consumer owns `conf`; on failure it is still ours. */
    rk = strom_consumer_new(conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "cannot create the consumer: %s\n", errstr);
        strom_conf_destroy(conf);
        return 1;
    }

    /* Subscribe: a list of topics (their partition numbers are ignored). */
    topics = strom_topic_partition_list_new(1);
    if (!topics || !strom_topic_partition_list_add(topics, topic, STROM_PARTITION_UA)) {
        fprintf(stderr, "cannot make the topic list: %s\n", strom_last_error_string());
        strom_topic_partition_list_destroy(topics);
        strom_destroy(rk, 5000);
        strom_shutdown(5000);
        return 1;
    }
    err = strom_subscribe(rk, topics);
    strom_topic_partition_list_destroy(topics);
    if (err) {
        fprintf(stderr, "cannot subscribe to %s: %s\n", topic, strom_last_error_string());
        strom_destroy(rk, 5000);
        strom_shutdown(5000);
        return 1;
    }

    /*
     * Ctrl-C or SIGTERM ends the loop below; the program still commits and
     * leaves the group. (ISO C's signal() may reset the handler after one
     * signal, so a second Ctrl-C ends the program at once.)
     */
    if (signal(SIGINT, on_signal) == SIG_ERR || signal(SIGTERM, on_signal) == SIG_ERR) {
        perror("signal");
        strom_consumer_close(rk);
        strom_destroy(rk, 5000);
        strom_shutdown(5000);
        return 1;
    }

    last_record = time(NULL);
    while (!stop && received < max) {
        /* NULL: nothing came within the timeout. */
        strom_message_t *msg = strom_consumer_poll(rk, POLL_TIMEOUT_MS);
        if (!msg) {
            if (difftime(time(NULL), last_record) > IDLE_SECONDS) {
                printf("no record for %d seconds: stopping\n", IDLE_SECONDS);
                break;
            }
            continue;
        }
        if (msg->err == STROM_RESP_ERR_NO_ERROR) {
            print_record(msg);
            received++;
            last_record = time(NULL);
        } else if (msg->err == STROM_RESP_ERR__PARTITION_EOF) {
            /* An event, not a record: more may still come. */
            printf("end of %s [%d] @%lld\n", msg->topic, (int)msg->partition,
                   (long long)msg->offset);
        } else {
            /* A client-wide error (e.g. a broker unreachable): the consumer
             * keeps retrying unless the error is fatal. */
            fprintf(stderr, "consumer error: %s: %s\n", strom_err2name(msg->err),
                    strom_message_errstr(msg));
            if (msg->err == STROM_RESP_ERR__FATAL) {
                failed = 1;
                stop = 1;
            }
        }
        strom_message_destroy(msg);
    }
    if (stop && !failed)
        printf("interrupted: stopping\n");

    /*
     * Commit the position of every assigned partition (the offset after
     * the last record received) and wait for the broker's answer.
     * STROM_RESP_ERR__NO_OFFSET only says there was nothing to commit.
     */
    err = strom_commit(rk, NULL, 0);
    if (err && err != STROM_RESP_ERR__NO_OFFSET) {
        fprintf(stderr, "commit failed: %s\n", strom_last_error_string());
        failed = 1;
    }

    /* Leave the group (the revoke callback runs), then free the handle. */
    err = strom_consumer_close(rk);
    if (err) {
        fprintf(stderr, "close failed: %s\n", strom_last_error_string());
        failed = 1;
    }
    strom_destroy(rk, 5000);
    strom_shutdown(5000);

    printf("received %ld of %ld\n", received, max);
    return !failed && received == max ? 0 : 1;
}
