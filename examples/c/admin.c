/*
 * admin.c: create a topic, show the cluster's metadata, read and change
 * the topic's configs, and list the consumer groups.
 *
 * Build (see README.md in this directory):
 *   PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig cmake -S examples/c -B build
 *   cmake --build build
 * Run:
 *   ./build/admin 127.0.0.1:9092 my-topic
 *
 * TOPIC is created with 3 partitions and retention.ms of one day; if it
 * exists already, it is used as it is. Exits 0 when every step worked.
 */
#include <stdio.h>
#include <string.h>

#include <strom.h>

/* How long each admin call may take. */
#define TIMEOUT_MS 10000

/* Prints a failed call: its error code's name and what went wrong. */
static void print_error(const char *what, strom_resp_err_t err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, strom_err2name(err), strom_last_error_string());
}

/* Creates the topic, tolerating one that exists already. */
static int create_topic(strom_t *rk, const char *topic) {
    /* Topic configs: name/value pairs, one after the other. */
    static const char *const configs[] = {"retention.ms", "86400000"};
    strom_resp_err_t err = strom_create_topic(rk, topic, 3, -1 /* broker's default */, configs,
                                              sizeof(configs) / sizeof(configs[0]) / 2,
                                              TIMEOUT_MS);
    if (err == STROM_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        printf("topic %s exists already\n", topic);
        return 0;
    }
    if (err) {
        print_error("strom_create_topic", err);
        return -1;
    }
    printf("created topic %s\n", topic);
    return 0;
}

/* Prints the brokers and the topic's partitions with their leaders. */
static int print_metadata(strom_t *rk, const char *topic) {
    const strom_metadata_t *md;
    int i, j, k;
    strom_resp_err_t err = strom_metadata(rk, topic, &md, TIMEOUT_MS);
    if (err) {
        print_error("strom_metadata", err);
        return -1;
    }

    printf("cluster %s, controller %d, %d broker(s):\n",
           md->cluster_id ? md->cluster_id : "(unknown)", (int)md->controller_id, md->broker_cnt);
    for (i = 0; i < md->broker_cnt; i++)
        printf("  broker %d at %s:%d\n", (int)md->brokers[i].id, md->brokers[i].host,
               md->brokers[i].port);

    for (i = 0; i < md->topic_cnt; i++) {
        const strom_metadata_topic_t *t = &md->topics[i];
        if (t->err) {
            /* An unknown topic comes back with `err` set. */
            fprintf(stderr, "topic %s: %s\n", t->topic, strom_err2str(t->err));
            err = t->err;
            continue;
        }
        printf("topic %s, %d partition(s):\n", t->topic, t->partition_cnt);
        for (j = 0; j < t->partition_cnt; j++) {
            const strom_metadata_partition_t *p = &t->partitions[j];
            printf("  partition %d: leader %d, replicas [", (int)p->id, (int)p->leader);
            for (k = 0; k < p->replica_cnt; k++)
                printf("%s%d", k ? "," : "", (int)p->replicas[k]);
            printf("], in sync [");
            for (k = 0; k < p->isr_cnt; k++)
                printf("%s%d", k ? "," : "", (int)p->isrs[k]);
            printf("]%s%s\n", p->err ? " error: " : "", p->err ? strom_err2str(p->err) : "");
        }
    }
    strom_metadata_destroy(md);
    return err ? -1 : 0;
}

/* Prints the topic config `name` as the broker reports it. */
static int print_config(strom_t *rk, const char *topic, const char *name) {
    const strom_config_entries_t *entries;
    int i, found = 0;
    strom_resp_err_t err = strom_describe_topic_config(rk, topic, &entries, TIMEOUT_MS);
    if (err) {
        print_error("strom_describe_topic_config", err);
        return -1;
    }
    for (i = 0; i < entries->cnt; i++) {
        const strom_config_entry_t *e = &entries->entries[i];
        if (strcmp(e->name, name) != 0)
            continue;
        printf("%s: %s = %s (%s)\n", topic, e->name, e->value ? e->value : "(not set)",
               e->is_default ? "default" : "set for the topic");
        found = 1;
    }
    strom_config_entries_destroy(entries);
    if (!found) {
        fprintf(stderr, "%s: no config %s\n", topic, name);
        return -1;
    }
    return 0;
}

/* Lists the consumer groups, their state and their members. */
static int print_groups(strom_t *rk) {
    const strom_group_list_t *groups;
    int i, j, k;
    strom_resp_err_t err = strom_list_groups(rk, NULL /* every group */, &groups, TIMEOUT_MS);
    if (err) {
        print_error("strom_list_groups", err);
        return -1;
    }
    printf("%d consumer group(s)\n", groups->group_cnt);
    for (i = 0; i < groups->group_cnt; i++) {
        const strom_group_info_t *g = &groups->groups[i];
        if (g->err) {
            printf("  group %s: %s\n", g->group, strom_err2str(g->err));
            continue;
        }
        printf("  group %s: %s, %d member(s)\n", g->group, g->state, g->member_cnt);
        for (j = 0; j < g->member_cnt; j++) {
            const strom_group_member_info_t *m = &g->members[j];
            printf("    member %s (%s) has", m->member_id, m->client_id);
            for (k = 0; m->assignment && k < m->assignment->cnt; k++)
                printf(" %s [%d]", m->assignment->elems[k].topic,
                       (int)m->assignment->elems[k].partition);
            printf("\n");
        }
    }
    strom_group_list_destroy(groups);
    return 0;
}

int main(int argc, char **argv) {
    const char *topic;
    strom_conf_t *conf;
    strom_t *rk;
    strom_resp_err_t err;
    char errstr[512];
    int failed;

    if (argc != 3) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC\n", argv[0]);
        return 2;
    }
    topic = argv[2];

    conf = strom_conf_new();
    if (strom_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) !=
        STROM_CONF_OK) {
        fprintf(stderr, "bootstrap.servers: %s\n", errstr);
        strom_conf_destroy(conf);
        return 1;
    }

    /* Connects before returning; on success it owns `conf`. */
    rk = strom_admin_new(conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "cannot create the admin client: %s\n", errstr);
        strom_conf_destroy(conf);
        return 1;
    }

    /* Each step runs only if the ones before it worked. */
    failed = create_topic(rk, topic) || print_metadata(rk, topic) ||
             print_config(rk, topic, "retention.ms");
    if (!failed) {
        /* An incremental alter: the topic's other configs stay. */
        err = strom_alter_topic_config(rk, topic, "retention.ms", "172800000", TIMEOUT_MS);
        if (err) {
            print_error("strom_alter_topic_config", err);
            failed = 1;
        } else {
            printf("set retention.ms of %s to 172800000 (two days)\n", topic);
            failed = print_config(rk, topic, "retention.ms");
        }
    }
    if (!failed)
        failed = print_groups(rk);

    strom_destroy(rk, 5000);
    strom_shutdown(5000);
    return failed ? 1 : 0;
}
