/*
 * fdio.h - whole reads and writes on a blocking descriptor: the loops
 * every caller otherwise writes again (short counts, EINTR).
 */
#ifndef CX_FDIO_H
#define CX_FDIO_H

#include <stddef.h>

/* Reads exactly len bytes from fd. Returns 0, or -1 at the end of the
 * stream or on an error (errno tells which, 0 at the end). */
int fd_read_full(int fd, void *dst, size_t len);
/* Writes all of src to fd. Returns 0, or -1 on an error. */
int fd_write_full(int fd, const void *src, size_t len);

#endif
