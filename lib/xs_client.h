/*
 * xs_client.h - the project's xenstore client: the wire protocol of
 * <xen/io/xs_wire.h> spoken over xenstored's Unix sockets
 * (RUNDIR/xenstored.sock, or xenstored.ro.sock for read-only access), for
 * xapi, xenopsd, tools and tests.
 *
 * Calls are synchronous: one request in flight, its reply awaited. Watch
 * events may arrive at any time, also between a request and its reply; the
 * client queues them in arrival order (the daemon's commit order) and hands
 * them out through xs_watch_next(). The queue is unbounded, because the
 * protocol promises never to lose an event: drain it.
 *
 * Thread-safety: none inside. A client belongs to one thread at a time;
 * give each thread its own client (connections are cheap) or serialise
 * all calls on one client with a lock of your own.
 *
 * Errors are values: every call returns 0 (or a count) on success and -1
 * on failure, filling *err (which may be NULL) with the errno value and
 * its xenstore spelling. Errors the daemon sent ("ENOENT", "EAGAIN", ...)
 * leave the connection usable; local ones (EPROTO for a reply that breaks
 * the protocol, EIO for a closed socket, ETIMEDOUT) close it, and every
 * later call fails with ENOTCONN.
 */
#ifndef CX_XS_CLIENT_H
#define CX_XS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xs_client;

struct xs_error {
    int errnum;    /* ENOENT, EACCES, EAGAIN, ...; EPROTO, EIO, ETIMEDOUT locally */
    char name[24]; /* "ENOENT": the daemon's string as sent, or the local name */
};

/* One entry of a node's permission list: the first names the owner (and
 * what every domain not listed may do), the rest one domain each. */
struct xs_perm {
    uint32_t domid;
    char mode; /* 'n' none, 'r' read, 'w' write, 'b' both */
};

struct xs_watch_event {
    char *path;  /* the node that changed (or the watched special path) */
    char *token; /* the token given to xs_watch */
};

/* Connects to the daemon's socket at path. NULL with *err if it fails. */
struct xs_client *xs_client_open(const char *path, struct xs_error *err);
/* Takes over fd, a connected stream socket (one end of a socketpair, or
 * a connection handed over by another process); closed by close. */
struct xs_client *xs_client_adopt(int fd);
void xs_client_close(struct xs_client *c);
/* Bounds every wait for a reply (and xs_watch_next's -1 wait) to ms;
 * 0 = wait for ever (the default). A timeout closes the connection, since
 * the late reply would otherwise answer the next request. */
void xs_client_set_timeout(struct xs_client *c, int ms);
/* The socket, to poll for readability in an event loop. Check
 * xs_watch_pending() first: a call may have queued events already. */
int xs_client_fd(const struct xs_client *c);

/* Any request: payload of len bytes (the caller NUL-terminates the
 * strings it holds). On success the reply's payload is in *reply (malloc'd
 * and NUL-terminated one byte past *reply_len; free it). */
int xs_request(struct xs_client *c, uint32_t type, uint32_t tx, const void *payload, size_t len,
               char **reply, size_t *reply_len, struct xs_error *err);

/* tx 0 = outside any transaction. */
int xs_read(struct xs_client *c, uint32_t tx, const char *path, char **value, size_t *len,
            struct xs_error *err);
int xs_write(struct xs_client *c, uint32_t tx, const char *path, const void *value, size_t len,
             struct xs_error *err);
int xs_mkdir(struct xs_client *c, uint32_t tx, const char *path, struct xs_error *err);
int xs_rm(struct xs_client *c, uint32_t tx, const char *path, struct xs_error *err);
/* The names of path's children. *names is one malloc'd block (the array,
 * then the strings): free(*names). Large directories are read with
 * DIRECTORY_PART, restarting if the node changes meanwhile. */
int xs_directory(struct xs_client *c, uint32_t tx, const char *path, char ***names, size_t *n,
                 struct xs_error *err);
/* *perms is malloc'd; free it. */
int xs_get_perms(struct xs_client *c, uint32_t tx, const char *path, struct xs_perm **perms,
                 size_t *n, struct xs_error *err);
int xs_set_perms(struct xs_client *c, uint32_t tx, const char *path, const struct xs_perm *perms,
                 size_t n, struct xs_error *err);

int xs_transaction_start(struct xs_client *c, uint32_t *tx, struct xs_error *err);
/* commit false aborts. A commit that conflicted fails with EAGAIN: redo
 * the whole transaction. */
int xs_transaction_end(struct xs_client *c, uint32_t tx, bool commit, struct xs_error *err);

/* The daemon fires a new watch once at once, then on every change at or
 * below path; "@introduceDomain" and "@releaseDomain" are special paths. */
int xs_watch(struct xs_client *c, const char *path, const char *token, struct xs_error *err);
int xs_unwatch(struct xs_client *c, const char *path, const char *token, struct xs_error *err);
int xs_reset_watches(struct xs_client *c, struct xs_error *err);
/* Events received and not yet taken. */
size_t xs_watch_pending(const struct xs_client *c);
/* Takes the oldest event, waiting up to timeout_ms for one (0: do not
 * wait; -1: the client's timeout, or for ever). Returns 1 with *ev filled
 * (free with xs_watch_event_free), 0 if none came, -1 with *err. */
int xs_watch_next(struct xs_client *c, struct xs_watch_event *ev, int timeout_ms,
                  struct xs_error *err);
void xs_watch_event_free(struct xs_watch_event *ev);

int xs_introduce(struct xs_client *c, uint32_t domid, uint64_t mfn, uint32_t port,
                 struct xs_error *err);
int xs_release(struct xs_client *c, uint32_t domid, struct xs_error *err);
/* *path is malloc'd: "/local/domain/<domid>". */
int xs_get_domain_path(struct xs_client *c, uint32_t domid, char **path, struct xs_error *err);
int xs_is_domain_introduced(struct xs_client *c, uint32_t domid, bool *introduced,
                            struct xs_error *err);
int xs_set_target(struct xs_client *c, uint32_t domid, uint32_t target, struct xs_error *err);
/* CONTROL with nargs strings ("log" "on", "quota" ...); the reply text in
 * *reply (malloc'd, NUL-terminated; NULL reply to discard it). */
int xs_control(struct xs_client *c, const char *const *args, size_t nargs, char **reply,
               struct xs_error *err);

/* The errno value for a xenstore error name ("ENOENT" -> ENOENT), from
 * xs_wire.h's table; EINVAL for names it does not list, as libxenstore. */
int xs_errno_of(const char *name);

#endif
