/*
 * One C client library running one load, as its own process (bench/c/run
 * starts one per run; built twice, with shim_strom.c as load-strom and
 * with shim_rdkafka.c as load-rdkafka):
 *
 *   load-LIB produce BOOTSTRAP TOPIC RECORDS SIZE
 *   load-LIB consume BOOTSTRAP TOPIC RECORDS GROUP
 *   load-LIB consume-batch BOOTSTRAP TOPIC RECORDS GROUP
 *
 * Prints one JSON object on stdout: records, records_per_s, mib_per_s,
 * errors, first_errors, the library's version, and this process's peak
 * RSS (VmHWM) and CPU time (getrusage, every thread), taken after the
 * client is closed.
 * Produce: acks=all, linger.ms=5, no key, one produce call per record
 * (on a full queue: poll 100 ms, then again), delivery reports counted,
 * then a flush; the time runs from the first produce until the flush
 * returned. Consume: a new group from the earliest offset, one message
 * per poll call (consume) or up to BATCH per call (consume-batch), until
 * RECORDS are counted; the rate runs from the first record to the last,
 * and the group join (subscribe to the first record) is reported apart.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "shim.h"

#define MIB (1024.0 * 1024.0)
#define BATCH 500
#define POLL_MS 1000
#define IDLE_S 30.0
#define FLUSH_MS 120000
#define FIRST_ERRORS 5

static long errors;
static char first_errors[FIRST_ERRORS][512];
static long acknowledged;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void note_error(const char *what, const char *why) {
    if (errors < FIRST_ERRORS)
        snprintf(first_errors[errors], sizeof first_errors[0], "%s: %s", what, why ? why : "?");
    errors++;
}

void delivered(const char *why) {
    if (why)
        note_error("delivery", why);
    else
        acknowledged++;
}

void fail(const char *what, const char *why) {
    fprintf(stderr, "%s: %s: %s\n", SHIM_LIBRARY, what, why ? why : "?");
    exit(1);
}

/* The result so far; load() fills it. */
struct result {
    long records;
    double elapsed_s;
    double bytes;
    double group_join_ms; /* < 0: not a consumer, or no record came */
    long queue_full_retries;
};

static void produce(const char *bootstrap, const char *topic, long records, size_t size, struct result *out) {
    const char *const settings[] = {"bootstrap.servers", bootstrap, "acks", "all", "linger.ms", "5",
                                    "enable.idempotence", "false", NULL};
    shim *p = shim_producer_new(settings);
    char *value = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++)
        value[i] = (char)('A' + i % 26);
    double started = now();
    for (long sent = 0; sent < records;) {
        int queued = shim_produce(p, topic, value, size);
        if (queued == 1) {
            out->queue_full_retries++;
            shim_poll(p, 100);
            continue;
        }
        sent++; /* queued, or failed and counted */
    }
    shim_flush(p, FLUSH_MS);
    out->elapsed_s = now() - started;
    out->records = acknowledged;
    out->bytes = (double)acknowledged * (double)size;
    shim_close(p);
    free(value);
}

static void consume(const char *bootstrap, const char *topic, long records, const char *group, int batch,
                    struct result *out) {
    const char *const settings[] = {"bootstrap.servers", bootstrap, "group.id", group, "auto.offset.reset",
                                    "earliest", NULL};
    shim *c = shim_consumer_new(settings);
    size_t bytes = 0;
    long received = 0;
    double first = 0, subscribed = now(), last = subscribed;
    shim_subscribe(c, topic);
    while (received < records) {
        /* Never ask for more than are left: librdkafka's batch call waits
         * for a full batch until its timeout. */
        int max = records - received < batch ? (int)(records - received) : batch;
        int got = shim_consume(c, max, POLL_MS, &bytes);
        double t = now();
        if (got > 0) {
            if (!first)
                first = t;
            last = t;
            received += got;
        } else if (t - last > IDLE_S) {
            break;
        }
    }
    shim_close(c);
    out->records = received;
    out->elapsed_s = first ? last - first : 0;
    out->bytes = (double)bytes;
    out->group_join_ms = first ? (first - subscribed) * 1000 : -1;
}

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* This process's peak RSS in MiB: VmHWM. Not ru_maxrss, which Linux keeps
 * across execve, so it starts at the forking parent's (the Python
 * harness's 33 MiB), more than this program uses. */
static double peak_rss_mib(const struct rusage *usage) {
    char line[256];
    long kib = -1;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && kib < 0 && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmHWM:", 6))
            kib = atol(line + 6);
    if (status)
        fclose(status);
    return (double)(kib >= 0 ? kib : usage->ru_maxrss) / 1024;
}

static void print_result(const char *mode, const struct result *r) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    double rate = r->elapsed_s > 0 ? (double)r->records / r->elapsed_s : 0;
    printf("{\"mode\": \"%s\", \"records\": %ld, \"elapsed_s\": %.6f, \"records_per_s\": %.1f, "
           "\"mib_per_s\": %.3f, ",
           mode, r->records, r->elapsed_s, rate, r->elapsed_s > 0 ? r->bytes / MIB / r->elapsed_s : 0);
    if (r->group_join_ms >= 0)
        printf("\"group_join_ms\": %.1f, ", r->group_join_ms);
    if (!strcmp(mode, "produce"))
        printf("\"queue_full_retries\": %ld, ", r->queue_full_retries);
    printf("\"errors\": %ld, \"first_errors\": [", errors);
    for (long i = 0; i < errors && i < FIRST_ERRORS; i++) {
        if (i)
            printf(", ");
        json_string(first_errors[i]);
    }
    printf("], \"peak_rss_mib\": %.1f, \"cpu_s\": %.2f, \"client\": {", peak_rss_mib(&usage), cpu);
    json_string(SHIM_LIBRARY);
    printf(": ");
    json_string(shim_version());
    printf("}}\n");
}

int main(int argc, char **argv) {
    const char *mode = argc == 6 ? argv[1] : "";
    int is_produce = !strcmp(mode, "produce"), is_consume = !strcmp(mode, "consume");
    int is_batch = !strcmp(mode, "consume-batch");
    long records = argc == 6 ? atol(argv[4]) : 0;
    if (!(is_produce || is_consume || is_batch) || records <= 0) {
        fprintf(stderr, "usage: %s produce|consume|consume-batch BOOTSTRAP TOPIC RECORDS SIZE|GROUP\n", argv[0]);
        return 2;
    }
    struct result r = {.group_join_ms = -1};
    if (is_produce)
        produce(argv[2], argv[3], records, (size_t)atol(argv[5]), &r);
    else
        consume(argv[2], argv[3], records, argv[5], is_batch ? BATCH : 1, &r);
    print_result(mode, &r);
    return 0;
}
