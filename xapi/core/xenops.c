/*
 * xenops.c - xapi's client of xenopsd; see xenops.h.
 */
#include "core/xenops.h"
#include "core/module.h"
#include "db/db.h"
#include "clock.h"
#include "ipc.h"
#include "log.h"
#include "mem.h"
#include "core/task.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Following a xenopsd task: TASK.wait returns as soon as it ends or its
 * progress moves, else after this long, when a cancel of the xapi task
 * is looked at. */
#define XENOPS_WAIT_MS 200

static int xenops_start(struct xapi *x)
{
    struct xenops *xo = xcalloc(1, sizeof(*xo));
    size_t n = strlen(x->run_dir) + sizeof("/xenopsd.sock");
    xo->path = xmalloc(n);
    snprintf(xo->path, n, "%s/xenopsd.sock", x->run_dir);
    pthread_mutex_init(&xo->lock, NULL);
    atomic_init(&xo->resync, true);
    x->xenops = xo;
    return 0;
}

static void xenops_free(struct xapi *x)
{
    struct xenops *xo = x->xenops;
    if (!xo)
        return;
    for (size_t i = 0; i < xo->n_idle; i++)
        ipc_client_free(xo->idle[i]);
    pthread_mutex_destroy(&xo->lock);
    free(xo->path);
    free(xo);
    x->xenops = NULL;
}

const struct xapi_module xenops_module = {
    .name = "xenops",
    .start = xenops_start,
    .free = xenops_free,
};

static struct ipc_client *xenops_borrow(struct xenops *xo)
{
    struct ipc_client *cl = NULL;
    pthread_mutex_lock(&xo->lock);
    if (xo->n_idle)
        cl = xo->idle[--xo->n_idle];
    pthread_mutex_unlock(&xo->lock);
    return cl ? cl : ipc_client_new(xo->path, 0);
}

static void xenops_give_back(struct xenops *xo, struct ipc_client *cl)
{
    pthread_mutex_lock(&xo->lock);
    if (xo->n_idle < XENOPS_IDLE_MAX) {
        xo->idle[xo->n_idle++] = cl;
        cl = NULL;
    }
    pthread_mutex_unlock(&xo->lock);
    ipc_client_free(cl);
}

void xenops_want_resync(struct xapi *x)
{
    atomic_store(&x->xenops->resync, true);
}

bool xenops_take_resync(struct xapi *x)
{
    return atomic_exchange(&x->xenops->resync, false);
}

struct rpc_reply xenops_call(struct xapi *x, struct arena *a, const char *method,
                             struct val *params)
{
    struct xenops *xo = x->xenops;
    /* Nobody waits on xenopsd holding the database: writers would stall
     * behind a call that may take minutes. */
    assert(!db_locked_by_me(x->db));
    if (!xo)
        return rpc_reply_error(a, API_ERR_INTERNAL_ERROR, "xenopsd's client is not started", NULL);
    struct ipc_client *cl = xenops_borrow(xo);
    struct rpc_reply r = {0};
    const char *err = NULL;
    int rc = ipc_call(cl, a, method, params, &r, &err);
    xenops_give_back(xo, cl);
    if (rc == 0)
        return r;
    xenops_want_resync(x);
    log_warn(NULL, "xenopsd %s: unreachable at %s: %s", method, xo->path, err ? err : "?");
    return rpc_reply_error(
        a, API_ERR_INTERNAL_ERROR,
        arena_printf(a, "xenopsd is unreachable at %s: %s", xo->path, err ? err : "no answer"),
        NULL);
}

struct val *xenops_args(struct arena *a, const char *id, struct val *more)
{
    struct val *p = val_array(a);
    val_array_push(a, p, val_string(a, id));
    if (more)
        val_array_push(a, p, more);
    return p;
}

bool xenops_is_error(const struct rpc_reply *r, const char *code)
{
    const char *got = r->error && r->error->u.arr.n ? val_str(r->error->u.arr.items[0]) : NULL;
    return got && strcmp(got, code) == 0;
}

/* A task's error ([code, params...]) as a reply, each item a string as
 * the datamodel's errors are. */
static struct rpc_reply xenops_task_error(struct arena *a, const struct val *error)
{
    struct val *e = val_array(a);
    for (size_t i = 0; error && error->type == VAL_ARRAY && i < error->u.arr.n; i++) {
        const struct val *item = error->u.arr.items[i];
        if (item->type == VAL_INT)
            val_array_push(a, e, val_string(a, arena_printf(a, "%lld", (long long)item->u.i)));
        else
            val_array_push(a, e, val_string(a, val_str(item) ? val_str(item) : ""));
    }
    if (!e->u.arr.n)
        return rpc_reply_error(a, API_ERR_INTERNAL_ERROR, "a xenopsd task failed without an error",
                               NULL);
    return (struct rpc_reply){.error = e};
}

/* The task's end, once it is not pending: its result or its error, in a. */
static struct rpc_reply xenops_task_outcome(struct arena *a, const struct val *stat,
                                            const char *state)
{
    if (strcmp(state, "completed") == 0) {
        const struct val *result = val_struct_get(stat, "result");
        return rpc_reply_ok(result ? val_copy(a, result) : val_nil(a));
    }
    return xenops_task_error(a, val_struct_get(stat, "error"));
}

struct rpc_reply xenops_task_wait(struct xapi_call *c, const char *task)
{
    double shown = 0.0;
    bool cancelled = false;
    for (;;) {
        /* A scratch arena per wait: a long task is waited on many times,
         * and only its end is kept. */
        struct arena *scratch = arena_new();
        struct rpc_reply r =
            xenops_call(c->x, scratch, "TASK.wait",
                        xenops_args(scratch, task, val_int(scratch, XENOPS_WAIT_MS)));
        const char *state = r.error ? NULL : val_str(val_struct_get(r.value, "state"));
        if (r.error || !state) {
            struct rpc_reply fail =
                r.error ? xenops_task_error(c->a, r.error)
                        : rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR,
                                          "xenopsd's TASK.stat answered no state", NULL);
            arena_free(scratch);
            return fail;
        }
        if (strcmp(state, "pending") != 0) {
            struct rpc_reply end = xenops_task_outcome(c->a, r.value, state);
            xenops_call(c->x, scratch, "TASK.destroy", xenops_args(scratch, task, NULL));
            arena_free(scratch);
            return end;
        }
        const struct val *p = val_struct_get(r.value, "progress");
        double progress = !p                     ? 0.0
                          : p->type == VAL_FLOAT ? p->u.f
                          : p->type == VAL_INT   ? (double)p->u.i
                                                 : 0.0;
        arena_free(scratch);
        if (progress >= shown + 0.01) {
            task_set_progress(c, progress);
            shown = progress;
        }
        if (!cancelled && task_cancelling(c)) {
            struct arena *a = arena_new();
            xenops_call(c->x, a, "TASK.cancel", xenops_args(a, task, NULL));
            arena_free(a);
            cancelled = true;
        }
    }
}

struct rpc_reply xenops_run(struct xapi_call *c, const char *method, struct val *params)
{
    struct rpc_reply r = xenops_call(c->x, c->a, method, params);
    if (r.error)
        return r;
    const char *task = val_str(r.value);
    if (!task)
        return rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR,
                               arena_printf(c->a, "xenopsd's %s answered no task", method), NULL);
    return xenops_task_wait(c, task);
}
