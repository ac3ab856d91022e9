/* LD_PRELOAD shim for server/tests/fsync_failure.rs: while the file named
 * by STROM_TEST_FAIL_FSYNC_IF exists, fsync, fdatasync and syncfs fail with EIO,
 * as they do on a disk that has started to fail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* EIO while the trigger file exists, else the libc function `name`. */
static int sync_or_fail(const char *name, int fd) {
    const char *trigger = getenv("STROM_TEST_FAIL_FSYNC_IF");
    if (trigger != NULL && access(trigger, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    return real(fd);
}

int fdatasync(int fd) { return sync_or_fail("fdatasync", fd); }

int fsync(int fd) { return sync_or_fail("fsync", fd); }

int syncfs(int fd) { return sync_or_fail("syncfs", fd); }
