/*
 * hostdir.h - a host's state directory and the identity stored in it.
 *
 * The first `cxapi start` of a directory creates the host: a new host uuid,
 * pool uuid and their references, and the root password (generated unless
 * given), written to DIR/host.conf with mode 0600. Every later start, and
 * every daemon, loads the same identity from there.
 */
#ifndef CX_HOSTDIR_H
#define CX_HOSTDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "ids.h"

#define HOSTDIR_PASSWORD_MAX 128

struct host_identity {
    char host_uuid[IDS_UUID_LEN + 1];
    char host_ref[IDS_REF_LEN + 1];
    char pool_uuid[IDS_UUID_LEN + 1];
    char pool_ref[IDS_REF_LEN + 1];
    char root_password[HOSTDIR_PASSWORD_MAX + 1];
};

/* Creates DIR (and DIR/log) if needed and the identity if DIR has none.
 * A non-NULL root_password replaces the stored one. *created tells whether
 * this call made the host. Returns 0, or -1 with a reason in err. */
int hostdir_init(const char *dir, const char *root_password, struct host_identity *id,
                 bool *created, char *err, size_t errlen);
/* Loads the identity of an existing host. Returns 0, or -1 with err. */
int hostdir_load(const char *dir, struct host_identity *id, char *err, size_t errlen);
/* mkdir -p with mode for every component created. Returns 0 or -1/errno. */
int hostdir_mkdirs(const char *path, int mode);
/* What every daemon does first: creates its run dir and STATE/log, opens
 * STATE/log/NAME.log (to stderr as well in the foreground) at the given
 * level, and fills log_path. Returns 0, or -1 after saying why on stderr. */
int hostdir_daemon_log(const char *name, const char *state_dir, const char *run_dir,
                       bool foreground, const char *level, struct buf *log_path);

#endif
