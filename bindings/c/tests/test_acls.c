/* ACLs: bindings created, described by filter (also MATCH) and deleted;
 * invalid codes refused before anything is sent. Against Kafka (no
 * authorizer there) the broker's SECURITY_DISABLED comes back. */
#include "harness.h"

static int has(const strom_acl_list_t *list, int restype, const char *name, int pattern,
               int operation, int permission) {
    for (int i = 0; i < list->cnt; i++) {
        const strom_acl_binding_t *acl = &list->acls[i];
        if (acl->restype == restype && strcmp(acl->name, name) == 0 &&
            acl->resource_pattern_type == pattern && acl->operation == operation &&
            acl->permission_type == permission && strcmp(acl->host, "*") == 0)
            return 1;
    }
    return 0;
}

void test_acls_are_created_described_and_deleted(void) {
    char topic[128], principal[160];
    unique_name("acl", topic, sizeof topic);
    snprintf(principal, sizeof principal, "User:c-%s", topic);
    strom_t *admin = new_admin();
    CHECK(admin != NULL);
    strom_acl_binding_t acls[] = {
        {STROM_RESOURCE_TOPIC, topic, STROM_RESOURCE_PATTERN_LITERAL, principal, "*",
         STROM_ACL_OPERATION_WRITE, STROM_ACL_PERMISSION_TYPE_ALLOW},
        {STROM_RESOURCE_GROUP, "c-", STROM_RESOURCE_PATTERN_PREFIXED, principal, "*",
         STROM_ACL_OPERATION_READ, STROM_ACL_PERMISSION_TYPE_DENY},
    };
    if (on_kafka()) {
        CHECK(strom_create_acls(admin, acls, 2, 10000) == STROM_RESP_ERR_SECURITY_DISABLED);
        strom_destroy(admin, 5000);
        return;
    }
    CHECK_OK(strom_create_acls(admin, acls, 2, 10000));

    strom_acl_binding_t by_principal = {STROM_RESOURCE_ANY, NULL, STROM_RESOURCE_PATTERN_ANY, principal,
                                        NULL, STROM_ACL_OPERATION_ANY, STROM_ACL_PERMISSION_TYPE_ANY};
    const strom_acl_list_t *found = NULL;
    CHECK_OK(strom_describe_acls(admin, &by_principal, &found, 10000));
    CHECK(found->cnt == 2);
    CHECK(strcmp(found->acls[0].principal, principal) == 0);
    CHECK(has(found, STROM_RESOURCE_TOPIC, topic, STROM_RESOURCE_PATTERN_LITERAL,
              STROM_ACL_OPERATION_WRITE, STROM_ACL_PERMISSION_TYPE_ALLOW));
    CHECK(has(found, STROM_RESOURCE_GROUP, "c-", STROM_RESOURCE_PATTERN_PREFIXED,
              STROM_ACL_OPERATION_READ, STROM_ACL_PERMISSION_TYPE_DENY));
    strom_acl_list_destroy(found);

    /* MATCH: the bindings that apply to a group named "c-reports". */
    strom_acl_binding_t applying = {STROM_RESOURCE_GROUP, "c-reports", STROM_RESOURCE_PATTERN_MATCH, principal,
                                    NULL, STROM_ACL_OPERATION_ANY, STROM_ACL_PERMISSION_TYPE_ANY};
    CHECK_OK(strom_describe_acls(admin, &applying, &found, 10000));
    CHECK(found->cnt == 1 && found->acls[0].resource_pattern_type == STROM_RESOURCE_PATTERN_PREFIXED);
    strom_acl_list_destroy(found);

    /* Invalid bindings are refused here, with the reason. */
    strom_acl_binding_t bad = acls[0];
    bad.operation = 99;
    CHECK(strom_create_acls(admin, &bad, 1, 10000) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strstr(strom_last_error_string(), "operation") != NULL);
    bad = acls[0];
    bad.resource_pattern_type = STROM_RESOURCE_PATTERN_MATCH; /* a filter's, not a binding's */
    CHECK(strom_create_acls(admin, &bad, 1, 10000) == STROM_RESP_ERR__INVALID_ARG);
    bad = acls[0];
    bad.principal = NULL;
    CHECK(strom_create_acls(admin, &bad, 1, 10000) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_create_acls(admin, NULL, 1, 10000) == STROM_RESP_ERR__INVALID_ARG);
    CHECK(strom_describe_acls(admin, NULL, &found, 10000) == STROM_RESP_ERR__INVALID_ARG);

    size_t deleted = 0;
    CHECK_OK(strom_delete_acls(admin, &by_principal, &deleted, 10000));
    CHECK(deleted == 2);
    CHECK_OK(strom_describe_acls(admin, &by_principal, &found, 10000));
    CHECK(found->cnt == 0);
    strom_acl_list_destroy(found);
    strom_acl_list_destroy(NULL);
    strom_destroy(admin, 5000);
}
