/* strom.h as a C99 translation unit: it must compile with -Wall -Wextra
 * -Werror -pedantic, and its types must be usable as documented. */
#include <strom.h>

int header_c99_uses(void);
int header_c99_uses(void) {
    strom_message_t msg = {0};
    strom_topic_partition_list_t *list = 0;
    strom_dr_msg_cb_t dr = 0;
    strom_rebalance_cb_t rebalance = 0;
    (void)dr;
    (void)rebalance;
    (void)list;
    return msg.err + STROM_RESP_ERR__PARTITION_EOF + STROM_CONF_OK + (int)STROM_OFFSET_BEGINNING;
}
