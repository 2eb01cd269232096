/*
 * fdio.c - whole reads and writes (fdio.h).
 */
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

int fd_read_full(int fd, void *dst, size_t len)
{
    for (char *p = dst; len;) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fd_write_full(int fd, const void *src, size_t len)
{
    for (const char *p = src; len;) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
