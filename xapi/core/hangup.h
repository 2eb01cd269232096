/*
 * hangup.h - noticing that a client went away while its call waits.
 *
 * A long poll (event.from, event.next) can wait for minutes. A client
 * that closes its connection meanwhile must free the call's thread at
 * once, not when the wait ends. One thread per xapi watches the sockets
 * of the calls that wait (epoll, EPOLLRDHUP), marks a call's watch gone
 * when its client hangs up, and wakes the database's waiters so that
 * the call looks (db_wake_waiters). A client that only shuts down its
 * sending side counts as gone too: its long poll answers at once with
 * what it has, which an HTTP client takes as an early reply.
 */
#ifndef CX_HANGUP_H
#define CX_HANGUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct db;
struct hangups;

/* One call's watch; lives on the caller's stack between watch and
 * unwatch. */
struct hangup {
    int fd;           /* the client's socket (http_req_watch_fd) */
    uint64_t id;      /* hangups' name for it */
    atomic_bool gone; /* the client hung up */
};

/* Starts the watching thread, which wakes db's waiters; NULL on failure. */
struct hangups *hangups_new(struct db *db);
/* Stops the thread; nothing may be watched any more. */
void hangups_free(struct hangups *h);
/* Watches w->fd (a client that already hung up is marked at once). With
 * fd < 0 (a call not from a connection) nothing is watched and w is
 * never gone. */
void hangup_watch(struct hangups *h, struct hangup *w);
/* Stops watching: once it returns, the thread no longer touches w. */
void hangup_unwatch(struct hangups *h, struct hangup *w);

#endif
