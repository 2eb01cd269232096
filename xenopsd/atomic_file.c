/*
 * atomic_file.c - write to a temporary name, rename into place. The
 * temporary name is unique (mkostemp), so two writers of one path (two
 * suspends to the same image) each rename a whole file of their own and
 * the last one wins, instead of both writing into one PATH.tmp.
 */
#include "atomic_file.h"
#include "fdio.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int atomic_file_write(const char *path, const void *data, size_t len, bool sync)
{
    size_t n = strlen(path) + sizeof(ATOMIC_FILE_TMP) + 6;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s" ATOMIC_FILE_TMP "XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    int rc = fd < 0 ? -1 : fd_write_full(fd, data, len);
    if (rc == 0 && sync && fsync(fd) != 0)
        rc = -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc < 0 && fd >= 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    free(tmp);
    return rc;
}
