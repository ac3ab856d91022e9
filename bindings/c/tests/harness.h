/* A small test harness for the C suite: each test is a function that
 * returns early through CHECK on its first failure; main() runs them all
 * and ends with the line "N passed, N failed". */
#ifndef STROM_TEST_HARNESS_H
#define STROM_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strom.h>

/* Set by CHECK when the running test fails. */
extern int test_failed;

void test_fail(const char *file, int line, const char *what);

#define CHECK(cond)                                  \
    do {                                             \
        if (!(cond)) {                               \
            test_fail(__FILE__, __LINE__, #cond);    \
            return;                                  \
        }                                            \
    } while (0)

/* A call that must succeed; on failure, says what the library said. */
#define CHECK_OK(call)                                                        \
    do {                                                                      \
        strom_resp_err_t check_err_ = (call);                                 \
        if (check_err_ != STROM_RESP_ERR_NO_ERROR) {                          \
            char check_buf_[1024];                                            \
            snprintf(check_buf_, sizeof check_buf_, "%s -> %s: %s", #call,    \
                     strom_err2name(check_err_), strom_last_error_string());  \
            test_fail(__FILE__, __LINE__, check_buf_);                        \
            return;                                                           \
        }                                                                     \
    } while (0)

/* The broker's address (STROM_C_BOOTSTRAP). */
const char *bootstrap(void);
/* Whether the broker is Apache Kafka (STROM_TEST_KAFKA=1). */
int on_kafka(void);
/* A name unique to this run: PREFIX-PID-COUNTER, in a static buffer per
 * call site's copy (copy it if you need it long). */
char *unique_name(const char *prefix, char *buf, size_t size);
/* A config with bootstrap.servers and the given name/value pairs (NULL
 * terminated); NULL if a setting is refused (the test fails). */
strom_conf_t *make_conf(const char *name, ...);
/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/* A new admin handle, or NULL (the reason printed). */
strom_t *new_admin(void);
/* Creates `topic` with `partitions` partitions; 1 on success. */
int create_topic(const char *topic, int partitions);
/* The consumer's next record (events skipped), waiting up to `ms`; NULL
 * if none came. */
strom_message_t *next_record(strom_t *consumer, int ms);

/* Produces `count` records "key-i" = "value-i" to `topic` (partition -1 for
 * the partitioner) and flushes; returns how many were delivered. */
int produce_records(const char *topic, int partition, int count, const char *codec);

#endif
