// strom.h in C++: extern "C" linkage, no C-only constructs; it must
// compile with -Wall -Wextra -Werror -pedantic.
#include <strom.h>

int header_cxx_uses();
int header_cxx_uses() {
    strom_conf_t *conf = strom_conf_new();
    strom_conf_destroy(conf);
    strom_message_t msg = strom_message_t();
    return static_cast<int>(msg.err) + STROM_RESP_ERR_NO_ERROR;
}
