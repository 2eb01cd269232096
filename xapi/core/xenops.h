/*
 * xenops.h - xapi's client of xenopsd (docs/xenopsd-interface.md), which
 * every concern that touches domains shares: calls over
 * RUNDIR/xenopsd.sock, and following a xenopsd task to its end as the
 * xapi task of the call.
 *
 * Calls come from many threads at once (every VM operation runs on its
 * caller's or its task's thread), and an ipc_client serves one thread at a
 * time, so each call borrows a connection from a small pool and gives it
 * back. An unreachable daemon is never hidden: the call answers
 * INTERNAL_ERROR naming it.
 */
#ifndef CX_XAPI_XENOPS_H
#define CX_XAPI_XENOPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/xapi.h"

/* Connections kept for reuse; more may be open at once, each call taking
 * one of its own. */
#define XENOPS_IDLE_MAX 32

struct xenops {
    char *path; /* RUNDIR/xenopsd.sock */
    pthread_mutex_t lock;
    struct ipc_client *idle[XENOPS_IDLE_MAX]; /* under lock */
    size_t n_idle;                            /* under lock */
    atomic_bool resync;                       /* see xenops_want_resync */
};

/* The xenops module (x->xenops): the client, before any module that calls
 * xenopsd starts. */
extern const struct xapi_module xenops_module;

/* Calls method on xenopsd. An unreachable daemon is INTERNAL_ERROR naming
 * it (and asks the follower to resynchronise once it is back); otherwise
 * the daemon's own reply, whose errors carry the datamodel's codes. */
struct rpc_reply xenops_call(struct xapi *x, struct arena *a, const char *method,
                             struct val *params);
/* params for the common calls of one id, or of an id and one more value. */
struct val *xenops_args(struct arena *a, const char *id, struct val *more);
/* Follows xenopsd task task to its end and destroys it: its result, or its
 * error. Copies its progress to the xapi task c runs as, and cancels it
 * when that task is cancelled. */
struct rpc_reply xenops_task_wait(struct xapi_call *c, const char *task);
/* Calls method (which answers a task id) and waits for the task. */
struct rpc_reply xenops_run(struct xapi_call *c, const char *method, struct val *params);
/* Whether reply is the error code. */
bool xenops_is_error(const struct rpc_reply *r, const char *code);
/* Set when xenopsd could not be reached; whoever follows xenopsd clears it
 * as it resynchronises everything. */
void xenops_want_resync(struct xapi *x);
bool xenops_take_resync(struct xapi *x);

#endif
