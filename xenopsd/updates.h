/*
 * updates.h - the stream behind UPDATES.get: which objects changed, in
 * order, coalesced per object (an object that changes a thousand times
 * between two polls is reported once), so memory is bounded by the number
 * of objects, not of changes. Waiters block on a condition variable: no
 * polling.
 *
 * Tokens are generation numbers. They start from the wall clock at each
 * start of xenopsd, so a token from before a restart is older than every
 * entry and its holder is told about everything, which is what a client
 * that has missed a restart needs.
 */
#ifndef XO_UPDATES_H
#define XO_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "value.h"

struct xo_updates;

/* cap: entries kept at most; beyond it the oldest go, and a token older
 * than what went gets every entry. */
struct xo_updates *xo_updates_new(size_t cap);
void xo_updates_free(struct xo_updates *u);
/* kind is "VM", "VBD", "VIF" or "Task". */
void xo_updates_post(struct xo_updates *u, const char *kind, const char *id);
/* Waits up to timeout_ms for entries newer than last; returns
 * {updates: [{kind, id}...], last} allocated in a. */
struct val *xo_updates_get(struct xo_updates *u, int64_t last, int64_t timeout_ms, struct arena *a);
/* Wakes every waiter now and from now on (the daemon is stopping). */
void xo_updates_stop(struct xo_updates *u);

#endif
