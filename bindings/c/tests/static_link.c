/* Linked against libstrom.a: prints the version and an error string. */
#include <stdio.h>
#include <strom.h>

int main(void) {
    printf("libstrom %s: %s\n", strom_version_str(), strom_err2name(STROM_RESP_ERR__TIMED_OUT));
    return 0;
}
