/* Runs the suite (or the tests named on the command line) and ends with
 * "N passed, N failed"; exits non-zero if any failed. */
#include "harness.h"
#include "tests.h"

#define DECLARE(name) void name(void);
STROM_TESTS(DECLARE)

struct test_case {
    const char *name;
    void (*run)(void);
};

#define ENTRY(name) {#name, name},
static const struct test_case tests[] = {STROM_TESTS(ENTRY)};

static int selected(const char *name, int argc, char **argv) {
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

int main(int argc, char **argv) {
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        test_failed = 0;
        long long start = now_ms();
        tests[i].run();
        printf("%s %s (%lld ms)\n", test_failed ? "FAILED" : "ok    ", tests[i].name, now_ms() - start);
        if (test_failed)
            failed++;
        else
            passed++;
    }
    /* Stop the library's threads, so leak checkers see a quiet process. */
    strom_shutdown(5000);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
