/* SASL through librdkafka's settings: a producer logs in to the broker's
 * SASL_PLAINTEXT listener with SCRAM-SHA-512 (user alice, made by the run
 * script with `strom user create`) and its records are delivered; a wrong
 * password is refused when the client is made, with the broker's words. Skipped
 * where the broker has no SASL listener (STROM_C_SASL_BOOTSTRAP unset). */
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
