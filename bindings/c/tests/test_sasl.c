/* SASL through librdkafka's settings: a producer logs in to the broker's
 * SASL_PLAINTEXT listener with SCRAM-SHA-512 (user alice, made by the run
 * script with `strom user create`) and its records are delivered; a wrong
 * password is refused when the client is made, with the broker's words.
 * And OAUTHBEARER with a token callback (the token signed by the run
 * script, STROM_C_OAUTH_TOKEN). Skipped where the broker has no SASL
 * listener (STROM_C_SASL_BOOTSTRAP unset). */
#include "harness.h"

static void delivered_ok(strom_t *rk, const strom_message_t *message, void *opaque) {
    (void)rk;
    if (message->err == STROM_RESP_ERR_NO_ERROR)
        (*(int *)opaque)++;
}

static strom_conf_t *sasl_conf(const char *address, const char *password) {
    return make_conf("bootstrap.servers", address, "security.protocol", "SASL_PLAINTEXT", "sasl.mechanisms",
                     "SCRAM-SHA-512", "sasl.username", "alice", "sasl.password", password, NULL);
}

void test_a_producer_logs_in_with_scram(void) {
    const char *address = getenv("STROM_C_SASL_BOOTSTRAP");
    if (!address || !*address)
        return; /* no SASL listener here */
    char errstr[512];
    char topic[64];
    unique_name("c-sasl", topic, sizeof topic);
    int delivered = 0;
    strom_conf_t *conf = sasl_conf(address, "alice-secret");
    CHECK(conf != NULL);
    strom_conf_set_dr_msg_cb(conf, delivered_ok);
    strom_conf_set_opaque(conf, &delivered);
    strom_t *producer = strom_producer_new(conf, errstr, sizeof errstr);
    if (!producer)
        strom_conf_destroy(conf);
    CHECK(producer != NULL);
    for (int i = 0; i < 3; i++)
        CHECK_OK(strom_produce(producer, topic, -1, NULL, 0, "v", 1, NULL, 0, NULL));
    strom_flush(producer, 30000);
    strom_destroy(producer, 5000);
    CHECK(delivered == 3);

    strom_conf_t *wrong = sasl_conf(address, "not-her-password");
    CHECK(wrong != NULL);
    strom_t *refused = strom_producer_new(wrong, errstr, sizeof errstr);
    if (refused) { /* it took the conf */
        strom_destroy(refused, 0);
        CHECK(refused == NULL);
    }
    strom_conf_destroy(wrong); /* a failed _new() leaves it to the caller */
    CHECK(strstr(errstr, "Invalid username or password") != NULL);
}

struct token_source {
    const char *token; /* NULL: refuse */
    int asked;
    char config[64];
};

static int give_token(const char *oauthbearer_config, char *token, size_t token_size, char *errstr,
                      size_t errstr_size, void *opaque) {
    struct token_source *source = opaque;
    source->asked++;
    snprintf(source->config, sizeof source->config, "%s", oauthbearer_config);
    if (!source->token || strlen(source->token) >= token_size) {
        snprintf(errstr, errstr_size, "no token today");
        return -1;
    }
    memcpy(token, source->token, strlen(source->token) + 1);
    return 0;
}

static int oauth_delivered;

static void oauth_delivered_ok(strom_t *rk, const strom_message_t *message, void *opaque) {
    (void)rk;
    (void)opaque;
    if (message->err == STROM_RESP_ERR_NO_ERROR)
        oauth_delivered++;
}

static strom_t *oauth_producer(const char *address, struct token_source *source, char *errstr, size_t size) {
    strom_conf_t *conf = make_conf("bootstrap.servers", address, "security.protocol", "SASL_PLAINTEXT",
                                   "sasl.mechanisms", "OAUTHBEARER", "sasl.oauthbearer.config", "scope=kafka", NULL);
    if (!conf)
        return NULL;
    strom_conf_set_oauthbearer_token_cb(conf, give_token);
    strom_conf_set_dr_msg_cb(conf, oauth_delivered_ok);
    strom_conf_set_opaque(conf, source);
    strom_t *producer = strom_producer_new(conf, errstr, size);
    if (!producer)
        strom_conf_destroy(conf);
    return producer;
}

void test_a_producer_logs_in_with_an_oauth_token_callback(void) {
    const char *address = getenv("STROM_C_SASL_BOOTSTRAP");
    const char *token = getenv("STROM_C_OAUTH_TOKEN");
    if (!address || !*address || !token || !*token)
        return; /* no OAUTHBEARER listener here */
    char errstr[512], topic[64];
    unique_name("c-oauth", topic, sizeof topic);
    struct token_source source = {token, 0, ""};
    oauth_delivered = 0;
    strom_t *producer = oauth_producer(address, &source, errstr, sizeof errstr);
    CHECK(producer != NULL);
    CHECK_OK(strom_produce(producer, topic, -1, NULL, 0, "v", 1, NULL, 0, NULL));
    CHECK(strom_flush(producer, 30000) == STROM_RESP_ERR_NO_ERROR);
    strom_destroy(producer, 5000);
    CHECK(oauth_delivered == 1);
    CHECK(source.asked >= 1);
    CHECK(strcmp(source.config, "scope=kafka") == 0);

    struct token_source none = {NULL, 0, ""};
    strom_t *refused = oauth_producer(address, &none, errstr, sizeof errstr);
    if (refused) {
        strom_destroy(refused, 0);
        CHECK(refused == NULL);
    }
    CHECK(none.asked >= 1);
    CHECK(strstr(errstr, "no token today") != NULL);
}
