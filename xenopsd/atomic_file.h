/*
 * atomic_file.h - replacing a file whole: the data goes to a new
 * PATH.tmp.XXXXXX, which is renamed over PATH, so a reader (or a restart
 * after kill -9) finds the old contents or the new, never part of either.
 */
#ifndef XO_ATOMIC_FILE_H
#define XO_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* What a temporary name adds to PATH, before six random characters: a
 * crash leaves PATH.tmp.XXXXXX behind for its owner to clear. */
#define ATOMIC_FILE_TMP ".tmp."

/* sync: fsync before the rename, for data that must outlive the host
 * (a suspend image), not only the process. Returns 0, or -1 with errno
 * set and no temporary file left behind. */
int atomic_file_write(const char *path, const void *data, size_t len, bool sync);

#endif
