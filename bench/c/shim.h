/*
 * shim.h: what bench/c/load.c asks of a client library. shim_strom.c
 * implements it over libstrom, shim_rdkafka.c over librdkafka; both
 * libraries have the same shape, so each shim is a thin rename and all
 * the measuring lives in load.c.
 */
#ifndef BENCH_C_SHIM_H
#define BENCH_C_SHIM_H

#include <stddef.h>

typedef struct shim shim; /* one client handle */

/* The library's name and version, for the JSON line's "client". */
extern const char SHIM_LIBRARY[];
const char *shim_version(void);

/* Clients made from `settings`: NULL-terminated name, value, name, ...
 * A failure to set up calls fail(), which exits. */
shim *shim_producer_new(const char *const *settings);
shim *shim_consumer_new(const char *const *settings);
void shim_subscribe(shim *c, const char *topic);

/* Queues one record without a key, the partitioner choosing: 0 when
 * queued, 1 when the queue is full (call shim_poll() and try again),
 * -1 on any other error (reported through note_error()). */
int shim_produce(shim *p, const char *topic, const void *value, size_t len);
/* Serves delivery reports (each calls delivered()), waiting at most
 * timeout_ms for the first. */
void shim_poll(shim *p, int timeout_ms);
/* Waits until every record is delivered or failed; -1 if it could not. */
int shim_flush(shim *p, int timeout_ms);

/* Waits at most timeout_ms: max 1 is one consumer-poll call, more is one
 * batch call for up to `max` messages. Returns how many records came
 * (their value bytes added to *bytes); error events and a failed call go
 * to note_error(). */
int shim_consume(shim *c, int max, int timeout_ms, size_t *bytes);

/* Closes (a consumer leaves its group) and frees the handle, then stops
 * what the library keeps running. */
void shim_close(shim *h);

/* From load.c: a delivery report (why NULL: delivered), an error worth
 * counting, and a set-up failure (prints and exits). */
void delivered(const char *why);
void note_error(const char *what, const char *why);
void fail(const char *what, const char *why);

#endif
