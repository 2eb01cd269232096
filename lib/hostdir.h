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

#include "arena.h"
#include "ids.h"
#include "passwd.h"

#define HOSTDIR_PASSWORD_MAX 128

struct host_identity {
    char host_uuid[IDS_UUID_LEN + 1];
    char host_ref[IDS_REF_LEN + 1];
    char pool_uuid[IDS_UUID_LEN + 1];
    char pool_ref[IDS_REF_LEN + 1];
    char root_password_hash[PASSWD_HASH_MAX]; /* passwd.h: never the text */
    /* The root password in clear when hostdir_init was given it or made
     * it (to tell the operator), else "". Never stored. */
    char root_password[HOSTDIR_PASSWORD_MAX + 1];
};

/* Creates DIR (and DIR/log) if needed and the identity if DIR has none,
 * with a random root password. A non-NULL root_password replaces the
 * stored one. Only its salted hash is stored (root-password-hash in
 * host.conf); a host.conf of an earlier version holding the password in
 * clear is rewritten with its hash. *created tells whether this call made
 * the host. Returns 0, or -1 with *err a reason in a. */
int hostdir_init(struct arena *a, const char *dir, const char *root_password,
                 struct host_identity *id, bool *created, const char **err);
/* Loads the identity of an existing host (id->root_password ""). Returns
 * 0, or -1 with *err (in a). */
int hostdir_load(struct arena *a, const char *dir, struct host_identity *id, const char **err);
/* mkdir -p with mode for every component created. Returns 0 or -1/errno. */
int hostdir_mkdirs(const char *path, int mode);
/* Makes what a host keeps private so, whatever umask made it: DIR and
 * every directory under it 0700, every file and socket 0600 (symbolic
 * links are not followed). Entries the process cannot change are left
 * as they are. Returns how many could not be changed. */
int hostdir_tighten(const char *dir);

/* Which file a socket this process bound is (after bind), so that it
 * removes only its own: the path may have been taken over since. */
struct hostdir_sock {
    unsigned long long dev, ino;
};
void hostdir_sock_note(const char *path, struct hostdir_sock *own);
/* Removes path if it is still the socket noted in own. */
void hostdir_sock_remove(const char *path, const struct hostdir_sock *own);

/* Whether the client on a Unix socket runs as this process's user
 * (SO_PEERCRED). The host's sockets trust their clients as root on the
 * host; their modes say who may connect, and this holds even if someone
 * loosens the modes. */
bool hostdir_sock_same_user(int fd);

/* RUN/NAME.lock: who holds it holds NAME for that run dir. Returns the
 * pid written in it by its holder, or 0 when nobody holds it. */
int hostdir_lock_holder(const char *run_dir, const char *name);
/* Takes RUN/NAME.lock (flock, never waiting) and writes our pid in it.
 * The descriptor (close-on-exec) holds the lock until it is closed or the
 * process ends. -1 with errno: EWOULDBLOCK when another holds it. */
int hostdir_lock_take(const char *run_dir, const char *name);
#endif
