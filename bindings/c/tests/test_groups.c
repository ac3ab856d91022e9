/* Consumer groups: two members sharing partitions through rebalance
 * callbacks (eager and cooperative), commits of every kind, and a
 * rebalance callback that picks where its partitions start. */
#include "harness.h"

#include <pthread.h>
#include <time.h>

#define PARTITIONS 4
#define PER_PARTITION 100

struct member {
    const char *topic;
    const char *group;
    const char *strategy;
    strom_t *rk;
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t *lock;
    unsigned char (*seen)[2 * PER_PARTITION];
    int assigned;      /* partitions held now */
    int assigns;       /* ASSIGN callbacks */
    int revokes;       /* REVOKE callbacks */
    int context_ok;    /* calls made inside the callback worked */
    int records;
};

static void member_rebalance(strom_t *rk, strom_resp_err_t err, strom_topic_partition_list_t *partitions,
                             void *opaque) {
    struct member *m = opaque;
    pthread_mutex_lock(m->lock);
    /* librdkafka's pattern: the protocol decides how to (un)assign. */
    const char *protocol = strom_rebalance_protocol(rk);
    int cooperative = strcmp(protocol, "COOPERATIVE") == 0;
    if (cooperative != (strcmp(m->strategy, "cooperative-sticky") == 0))
        m->context_ok = 0;
    /* A poll from inside the callback is refused, not a deadlock. */
    strom_message_t *inner = strom_consumer_poll(rk, 0);
    if (inner != NULL || strom_last_error() != STROM_RESP_ERR__STATE)
        m->context_ok = 0;
    strom_message_destroy(inner);
    char *member_id = strom_memberid(rk);
    if (!member_id || !*member_id)
        m->context_ok = 0;
    strom_mem_free(member_id);
    if (err == STROM_RESP_ERR__ASSIGN_PARTITIONS) {
        m->assigns++;
        m->assigned += partitions->cnt;
        strom_resp_err_t assigned = cooperative ? strom_incremental_assign(rk, partitions)
                                                : strom_assign(rk, partitions);
        if (assigned != STROM_RESP_ERR_NO_ERROR)
            m->context_ok = 0;
    } else if (err == STROM_RESP_ERR__REVOKE_PARTITIONS) {
        m->revokes++;
        m->assigned -= partitions->cnt;
        /* Inside the callback the consumer answers through its context:
         * positions of what is being revoked, and a commit before it goes. */
        if (strom_position(rk, partitions) != STROM_RESP_ERR_NO_ERROR)
            m->context_ok = 0;
        if (!strom_assignment_lost(rk) && strom_commit(rk, NULL, 0) != STROM_RESP_ERR_NO_ERROR)
            m->context_ok = 0;
        if (cooperative)
            strom_incremental_unassign(rk, partitions);
        else
            strom_assign(rk, NULL);
    } else {
        m->context_ok = 0;
    }
    pthread_mutex_unlock(m->lock);
}

static void *member_run(void *arg) {
    struct member *m = arg;
    while (!m->stop) {
        strom_message_t *msg = strom_consumer_poll(m->rk, 100);
        if (!msg)
            continue;
        if (!msg->err && msg->partition < PARTITIONS && msg->offset < 2 * PER_PARTITION) {
            pthread_mutex_lock(m->lock);
            m->seen[msg->partition][msg->offset]++;
            m->records++;
            pthread_mutex_unlock(m->lock);
        }
        strom_message_destroy(msg);
    }
    return NULL;
}

static int start_member(struct member *m) {
    char errstr[512];
    strom_conf_t *conf = make_conf("group.id", m->group, "auto.offset.reset", "earliest",
                                   "partition.assignment.strategy", m->strategy, "session.timeout.ms", "6000",
                                   "heartbeat.interval.ms", "500", NULL);
    if (!conf)
        return 0;
    strom_conf_set_rebalance_cb(conf, member_rebalance);
    strom_conf_set_opaque(conf, m);
    m->rk = strom_consumer_new(conf, errstr, sizeof errstr);
    if (!m->rk) {
        fprintf(stderr, "    %s\n", errstr);
        strom_conf_destroy(conf);
        return 0;
    }
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, m->topic, STROM_PARTITION_UA);
    strom_resp_err_t err = strom_subscribe(m->rk, topics);
    strom_topic_partition_list_destroy(topics);
    if (err)
        return 0;
    return pthread_create(&m->thread, NULL, member_run, m) == 0;
}

static void stop_member(struct member *m) {
    m->stop = 1;
    pthread_join(m->thread, NULL);
    strom_consumer_close(m->rk);
    strom_destroy(m->rk, 5000);
}

/* Waits until `check` holds under the lock, at most `ms`. */
static int wait_for(pthread_mutex_t *lock, int (*check)(struct member *, struct member *), struct member *a,
                    struct member *b, int ms) {
    long long deadline = now_ms() + ms;
    for (;;) {
        pthread_mutex_lock(lock);
        int done = check(a, b);
        pthread_mutex_unlock(lock);
        if (done)
            return 1;
        if (now_ms() > deadline)
            return 0;
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int a_has_all(struct member *a, struct member *b) {
    (void)b;
    return a->assigned == PARTITIONS;
}

static int shared(struct member *a, struct member *b) {
    return a->assigned > 0 && b->assigned > 0 && a->assigned + b->assigned == PARTITIONS;
}

static unsigned char seen_table[PARTITIONS][2 * PER_PARTITION];

static int all_seen(struct member *a, struct member *b) {
    (void)a;
    (void)b;
    for (int p = 0; p < PARTITIONS; p++)
        for (int o = 0; o < 2 * PER_PARTITION; o++)
            if (!seen_table[p][o])
                return 0;
    return 1;
}

static void two_members_share_partitions(const char *strategy) {
    char topic[128], group[128];
    unique_name("group-topic", topic, sizeof topic);
    unique_name("group", group, sizeof group);
    CHECK(create_topic(topic, PARTITIONS));
    for (int p = 0; p < PARTITIONS; p++)
        CHECK(produce_records(topic, p, PER_PARTITION, "lz4") == PER_PARTITION);
    memset(seen_table, 0, sizeof seen_table);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct member a = {topic, group, strategy, NULL, 0, 0, &lock, seen_table, 0, 0, 0, 1, 0};
    struct member b = a;
    CHECK(start_member(&a));
    CHECK(wait_for(&lock, a_has_all, &a, &b, 30000));
    CHECK(strcmp(strom_rebalance_protocol(a.rk), strcmp(strategy, "range") == 0 ? "EAGER" : "COOPERATIVE") == 0);
    CHECK(start_member(&b));
    CHECK(wait_for(&lock, shared, &a, &b, 30000));
    for (int p = 0; p < PARTITIONS; p++)
        CHECK(produce_records(topic, p, PER_PARTITION, "zstd") == PER_PARTITION);
    CHECK(wait_for(&lock, all_seen, &a, &b, 30000));
    stop_member(&b);
    stop_member(&a);
    CHECK(a.assigns >= 1 && b.assigns >= 1);
    CHECK(a.revokes >= 1 && b.revokes >= 1);
    CHECK(a.assigned == 0 && b.assigned == 0);
    CHECK(a.context_ok && b.context_ok);
    CHECK(a.records > 0 && b.records > 0);
}

void test_two_members_share_partitions_eager(void) {
    two_members_share_partitions("range");
}

void test_two_members_share_partitions_cooperative(void) {
    two_members_share_partitions("cooperative-sticky");
}

/* A rebalance callback that starts its partitions at offset 5, as
 * librdkafka applications that keep offsets elsewhere do. */
static void start_at_five(strom_t *rk, strom_resp_err_t err, strom_topic_partition_list_t *partitions,
                          void *opaque) {
    int *calls = opaque;
    if (err == STROM_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < partitions->cnt; i++)
            partitions->elems[i].offset = 5;
        if (strom_assign(rk, partitions) == STROM_RESP_ERR_NO_ERROR)
            (*calls)++;
    } else {
        strom_assign(rk, NULL);
    }
}

struct commit_report {
    int calls;
    strom_resp_err_t err;
    int64_t offset;
};

static void on_commit(strom_t *rk, strom_resp_err_t err, strom_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    struct commit_report *report = opaque;
    report->calls++;
    report->err = err;
    report->offset = offsets->cnt == 1 ? offsets->elems[0].offset : -1;
}

void test_commits_sync_async_and_from_a_rebalance_callback(void) {
    char errstr[512], topic[128], group[128];
    unique_name("commits", topic, sizeof topic);
    unique_name("commit-group", group, sizeof group);
    CHECK(create_topic(topic, 1));
    CHECK(produce_records(topic, 0, 20, "gzip") == 20);

    int assigned = 0;
    struct commit_report report = {0, 0, 0};
    strom_conf_t *conf = make_conf("group.id", group, "enable.auto.commit", "false", NULL);
    CHECK(conf != NULL);
    strom_conf_set_rebalance_cb(conf, start_at_five);
    strom_conf_set_opaque(conf, &assigned);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, topic, STROM_PARTITION_UA);
    CHECK_OK(strom_subscribe(consumer, topics));
    strom_topic_partition_list_t *subscription = NULL;
    CHECK_OK(strom_subscription(consumer, &subscription));
    CHECK(subscription->cnt == 1 && strcmp(subscription->elems[0].topic, topic) == 0);
    strom_topic_partition_list_destroy(subscription);

    strom_message_t *msg = next_record(consumer, 20000);
    CHECK(msg != NULL);
    CHECK(assigned == 1);
    CHECK(msg->offset == 5);
    strom_message_destroy(msg);
    for (int i = 6; i < 10; i++) {
        msg = next_record(consumer, 20000);
        CHECK(msg != NULL && msg->offset == i);
        if (i < 9)
            strom_message_destroy(msg);
    }
    /* Commit past one message, synchronously. */
    CHECK_OK(strom_commit_message(consumer, msg, 0));
    strom_message_destroy(msg);
    strom_topic_partition_list_t *committed = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(committed, topic, 0);
    CHECK_OK(strom_committed(consumer, committed, 10000));
    CHECK(committed->elems[0].offset == 10);
    /* Explicit offsets. */
    strom_topic_partition_list_t *offsets = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(offsets, topic, 0)->offset = 12;
    CHECK_OK(strom_commit(consumer, offsets, 0));
    CHECK_OK(strom_committed(consumer, committed, 10000));
    CHECK(committed->elems[0].offset == 12);
    CHECK_OK(strom_consumer_close(consumer));
    strom_destroy(consumer, 5000);

    /* A second member resumes at the commit; its async commit reports to
     * the commit callback from strom_consumer_poll(). */
    conf = make_conf("group.id", group, "enable.auto.commit", "false", NULL);
    strom_conf_set_offset_commit_cb(conf, on_commit);
    strom_conf_set_opaque(conf, &report);
    consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    CHECK_OK(strom_subscribe(consumer, topics));
    msg = next_record(consumer, 20000);
    CHECK(msg != NULL && msg->offset == 12);
    strom_message_destroy(msg);
    CHECK_OK(strom_commit(consumer, NULL, 1));
    long long deadline = now_ms() + 10000;
    while (report.calls == 0 && now_ms() < deadline)
        strom_message_destroy(strom_consumer_poll(consumer, 100));
    CHECK(report.calls == 1);
    CHECK(report.err == STROM_RESP_ERR_NO_ERROR);
    CHECK(report.offset == 13);
    CHECK_OK(strom_consumer_close(consumer));
    strom_destroy(consumer, 5000);

    /* The group's offsets as an admin sees them. */
    conf = make_conf(NULL);
    strom_t *admin = strom_admin_new(conf, errstr, sizeof errstr);
    CHECK(admin != NULL);
    strom_topic_partition_list_t *listed = NULL;
    CHECK_OK(strom_list_group_offsets(admin, group, &listed, 10000));
    CHECK(listed->cnt == 1 && listed->elems[0].offset == 13);
    strom_topic_partition_list_destroy(listed);
    strom_destroy(admin, 5000);

    strom_topic_partition_list_destroy(offsets);
    strom_topic_partition_list_destroy(committed);
    strom_topic_partition_list_destroy(topics);
}

/* A subscription by regular expression (librdkafka's `^` convention)
 * reads every matching topic and no other. */
void test_subscribe_by_regular_expression(void) {
    char errstr[512], prefix[96], first[128], second[128], other[128], pattern[160], group[128];
    unique_name("regex", prefix, sizeof prefix);
    snprintf(first, sizeof first, "%s-a", prefix);
    snprintf(second, sizeof second, "%s-b", prefix);
    snprintf(other, sizeof other, "x%s-c", prefix);
    snprintf(pattern, sizeof pattern, "^%s-[ab]", prefix);
    unique_name("regex-group", group, sizeof group);
    CHECK(create_topic(first, 1) && create_topic(second, 1) && create_topic(other, 1));
    CHECK(produce_records(first, 0, 5, "none") == 5);
    CHECK(produce_records(second, 0, 5, "none") == 5);
    CHECK(produce_records(other, 0, 5, "none") == 5);
    strom_conf_t *conf = make_conf("group.id", group, "auto.offset.reset", "earliest", NULL);
    strom_t *consumer = strom_consumer_new(conf, errstr, sizeof errstr);
    CHECK(consumer != NULL);
    strom_topic_partition_list_t *topics = strom_topic_partition_list_new(1);
    strom_topic_partition_list_add(topics, pattern, STROM_PARTITION_UA);
    CHECK_OK(strom_subscribe(consumer, topics));
    strom_topic_partition_list_destroy(topics);
    int from_first = 0, from_second = 0, from_other = 0;
    long long deadline = now_ms() + 20000;
    while (from_first + from_second < 10 && now_ms() < deadline) {
        strom_message_t *msg = strom_consumer_poll(consumer, 200);
        if (msg && !msg->err) {
            from_first += strcmp(msg->topic, first) == 0;
            from_second += strcmp(msg->topic, second) == 0;
            from_other += strcmp(msg->topic, other) == 0;
        }
        strom_message_destroy(msg);
    }
    CHECK(from_first == 5 && from_second == 5);
    CHECK(from_other == 0);
    strom_topic_partition_list_t *subscription = NULL;
    CHECK_OK(strom_subscription(consumer, &subscription));
    CHECK(subscription->cnt == 1 && strcmp(subscription->elems[0].topic, pattern) == 0);
    strom_topic_partition_list_destroy(subscription);
    CHECK_OK(strom_consumer_close(consumer));
    strom_destroy(consumer, 5000);
}
