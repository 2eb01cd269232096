/*
 * task.c - tasks and Async. calls.
 *
 * A task is a database object of class task, kept in memory only (as
 * upstream: a restart forgets every task), so its record, getters and
 * events come from the schema like any other class.
 *
 * Async.<class>.<message> creates a pending task, answers its ref at once
 * and runs the message on a thread of the task pool (lib/workers.h: at most
 * TASK_MAX_PENDING, joined when xapi stops) with a copy of the call in an
 * arena of its own (the request's arena is gone by then). When the message
 * returns, the task records success and the result as the text of an
 * XML-RPC <value> ("" for void) whatever wire the call came on, as clients
 * parse it with an XML-RPC parser; or failure and error_info [code,
 * params...]; or, when task.cancel came first, cancelled and error_info
 * ["TASK_CANCELLED", task].
 *
 * Running tasks are listed in x->tasks, each with its cancel flag; the call
 * a task runs carries its entry (xapi_call.task), which is how task.h
 * finds it. Lock order: the database write lock, then tasks->lock.
 *
 * task.create makes a task owned by the client, which drives it with
 * task.set_status, set_progress, set_result and set_error_info. It has no
 * thread here, so task.cancel on it ends it as cancelled at once. Cancelling
 * a task that is no longer pending is OPERATION_NOT_ALLOWED; cancelling one
 * already cancelling does nothing. task.destroy also asks a running task to
 * stop; its thread then finds the task gone and just ends.
 *
 * Limits, as upstream's max_tasks = 200: at most TASK_MAX_PENDING tasks may
 * be pending (or cancelling) at once, which also bounds the task threads; a
 * further Async. call or task.create answers TOO_MANY_PENDING_TASKS. The
 * garbage collector keeps at most TASK_MAX_FINISHED finished tasks,
 * destroying the longest finished first.
 *
 * Garbage collection: a thread started with xapi wakes every minute and destroys the tasks finished
 * more than 65 minutes ago and those pending for more than 24 hours (asking their threads to stop).
 * Tests shorten these through the environment of the daemon: CXAPI_TASK_GC_FINISHED_S  age in
 * seconds of a finished task (3900) CXAPI_TASK_GC_PENDING_S   age in seconds of a pending task
 * (86400) CXAPI_TASK_GC_INTERVAL_S  seconds between two sweeps (60) CXAPI_TASK_TEST_DELAY_MS  a
 * task thread waits this long, watching its cancel flag, before running its message, so tests can
 * see a running task (0)
 */
#include "core/xapi.h"
#include "core/module.h"
#include "core/task.h"
#include "api/api.h"
#include "api/api_value.h"
#include "buf.h"
#include "clock.h"
#include "db/db.h"
#include "ids.h"
#include "list.h"
#include "log.h"
#include "mem.h"
#include "workers.h"
#include "xmlrpc.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TASK_MAX_PENDING 200
#define TASK_MAX_FINISHED 200
#define TASK_GC_FINISHED_S (65 * 60)
#define TASK_GC_PENDING_S (24 * 60 * 60)
#define TASK_GC_INTERVAL_S 60
/* How long xapi's stop waits for running tasks to end. */
#define TASK_STOP_MS 5000

/* --- the task class --- */

static bool task_status_pending(const char *status)
{
    return strcmp(status, "pending") == 0 || strcmp(status, "cancelling") == 0;
}

/* allowed_operations: [cancel] while pending, [] otherwise. */
static struct val *task_ops(struct arena *a, bool cancel)
{
    struct val *ops = val_array(a);
    if (cancel)
        val_array_push(a, ops, val_string(a, "cancel"));
    return ops;
}

static struct val *task_cancelled_info(struct arena *a, const char *ref)
{
    struct val *e = val_array(a);
    val_array_push(a, e, val_string(a, API_ERR_TASK_CANCELLED));
    val_array_push(a, e, val_string(a, ref));
    return e;
}

/* Whether datetime field v is at or before cut (a time in the wire form,
 * in which datetimes compare as text in time order). */
static bool task_at_or_before(const struct val *v, const char *cut)
{
    char when[API_DATETIME_LEN];
    return strcmp(api_datetime_comparable(when, sizeof(when), v), cut) <= 0;
}

/* Non-negative seconds from the environment, or dflt. */
static long task_env_long(const char *name, long dflt)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0)
        return dflt;
    return v;
}

/* --- running tasks --- */

struct task_run {
    struct list_node node; /* in tasks->runs */
    struct tasks *tasks;
    char ref[IDS_REF_LEN + 1];
    atomic_bool cancel;
    struct arena *a; /* holds this struct and everything of the call */
    struct xapi_call call;
    /* The dispatch table's entry, for the result's type. */
    const struct api_message *msg;
    xapi_explicit_fn fn;
    const char *label;
};

/* x->tasks: the task module's state. */
struct tasks {
    struct xapi *x;
    pthread_mutex_t lock;
    pthread_cond_t none_running; /* runs became empty; CLOCK_MONOTONIC */
    struct list runs;            /* of struct task_run, under lock */
    bool stopping;               /* under lock: no new Async. call */
    struct workers *workers;     /* the threads tasks run on */
    long delay_ms;               /* CXAPI_TASK_TEST_DELAY_MS */
    /* The garbage collector's thread. */
    pthread_mutex_t gc_lock;
    pthread_cond_t gc_wake; /* CLOCK_MONOTONIC */
    bool gc_stop;           /* under gc_lock */
    pthread_t gc_thread;
    bool gc_running;
    long gc_interval_s, gc_finished_s, gc_pending_s;
};

/* Lists run, unless xapi is shutting down. Called inside the transaction
 * that creates its task, so that task.cancel, which needs the write lock to
 * find the task, always finds the run too: listed after the commit, a
 * cancel in between took the task for a client's own and ended it, and then
 * the thread overwrote that with its result. */
static bool task_register(struct tasks *ts, struct task_run *run)
{
    pthread_mutex_lock(&ts->lock);
    bool stopping = ts->stopping;
    if (!stopping)
        list_push_back(&ts->runs, &run->node);
    pthread_mutex_unlock(&ts->lock);
    return !stopping;
}

/* Sets the cancel flag of the running task ref; false when none runs. */
static bool task_flag_cancel(struct tasks *ts, const char *ref)
{
    bool found = false;
    pthread_mutex_lock(&ts->lock);
    for (struct list_node *n = list_first(&ts->runs); n && !found; n = list_next(&ts->runs, n)) {
        struct task_run *r = LIST_ENTRY(n, struct task_run, node);
        if (strcmp(r->ref, ref) == 0) {
            atomic_store(&r->cancel, true);
            found = true;
        }
    }
    pthread_mutex_unlock(&ts->lock);
    return found;
}

static void task_unregister(struct tasks *ts, struct task_run *run)
{
    pthread_mutex_lock(&ts->lock);
    list_remove(&ts->runs, &run->node);
    if (list_empty(&ts->runs))
        pthread_cond_broadcast(&ts->none_running);
    pthread_mutex_unlock(&ts->lock);
}

bool task_cancelling(const struct xapi_call *c)
{
    return c && c->task && atomic_load(&c->task->cancel);
}

const char *task_ref(const struct xapi_call *c)
{
    return c && c->task ? c->task->ref : NULL;
}

void task_set_progress(struct xapi_call *c, double progress)
{
    struct task_run *r = c ? c->task : NULL;
    if (!r)
        return;
    if (!(progress >= 0.0)) /* and NaN */
        progress = 0.0;
    if (progress > 1.0)
        progress = 1.0;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = db_get(c->x->db, API_C_task, r->ref);
    if (!o) {
        db_abort(t);
        return;
    }
    db_txn_set(t, o, API_F_task_progress, val_float(r->a, progress));
    const char *err;
    if (db_commit(t, &err) < 0)
        log_warn(r->call.log_ctx, "cannot record the progress: %s", err);
}

/* --- garbage collection --- */

struct task_gc_item {
    struct db_obj *o;
    char finished[API_DATETIME_LEN]; /* comparable text */
};

static int task_gc_cmp(const void *a, const void *b)
{
    return strcmp(((const struct task_gc_item *)a)->finished,
                  ((const struct task_gc_item *)b)->finished);
}

/* Destroys the tasks too old, and the longest finished beyond
 * TASK_MAX_FINISHED. */
static void task_sweep(struct tasks *ts, int64_t now)
{
    struct db *db = ts->x->db;
    struct db_txn *t = db_begin(db);
    size_t n = db_count(db, API_C_task);
    struct db_obj **doomed = xcalloc(n ? n : 1, sizeof(*doomed));
    struct task_gc_item *done = xcalloc(n ? n : 1, sizeof(*done));
    size_t n_doomed = 0, n_done = 0;
    char pending_cut[API_DATETIME_LEN], finished_cut[API_DATETIME_LEN];
    api_datetime_format(pending_cut, sizeof(pending_cut), now - ts->gc_pending_s);
    api_datetime_format(finished_cut, sizeof(finished_cut), now - ts->gc_finished_s);
    for (struct db_obj *o = db_first(db, API_C_task); o && n_doomed + n_done < n;
         o = db_next(db, o)) {
        if (task_status_pending(db_obj_str(o, API_F_task_status))) {
            if (task_at_or_before(db_obj_field(o, API_F_task_created), pending_cut))
                doomed[n_doomed++] = o;
            continue;
        }
        struct task_gc_item *it = &done[n_done];
        api_datetime_comparable(it->finished, sizeof(it->finished),
                                db_obj_field(o, API_F_task_finished));
        if (strcmp(it->finished, finished_cut) <= 0)
            doomed[n_doomed++] = o;
        else
            done[n_done++].o = o;
    }
    if (n_done > TASK_MAX_FINISHED) {
        qsort(done, n_done, sizeof(*done), task_gc_cmp);
        for (size_t i = 0; i < n_done - TASK_MAX_FINISHED; i++)
            doomed[n_doomed++] = done[i].o;
    }
    for (size_t i = 0; i < n_doomed; i++) {
        struct db_obj *o = doomed[i];
        const char *status = db_obj_str(o, API_F_task_status);
        if (task_status_pending(status))
            task_flag_cancel(ts, o->ref);
        log_info(NULL, "task gc: destroying %s task %s (%s)", status, o->ref,
                 db_obj_str(o, API_F_task_name_label));
        db_txn_destroy(t, o);
    }
    free(done);
    free(doomed);
    if (!n_doomed) {
        db_abort(t);
        return;
    }
    const char *err;
    if (db_commit(t, &err) < 0)
        log_warn(NULL, "task gc: cannot destroy old tasks: %s", err);
}

static void *task_gc_main(void *arg)
{
    struct tasks *ts = arg;
    log_info(NULL, "task gc: every %ld s, finished tasks after %ld s, pending after %ld s",
             ts->gc_interval_s, ts->gc_finished_s, ts->gc_pending_s);
    for (;;) {
        int64_t deadline = clock_now_ms() + ts->gc_interval_s * 1000;
        pthread_mutex_lock(&ts->gc_lock);
        while (!ts->gc_stop && clock_cond_wait_until(&ts->gc_wake, &ts->gc_lock, deadline))
            ;
        bool stop = ts->gc_stop;
        pthread_mutex_unlock(&ts->gc_lock);
        if (stop)
            break;
        task_sweep(ts, (int64_t)time(NULL));
    }
    return NULL;
}

/* --- creating and ending tasks --- */

static size_t task_count_pending(struct db *db)
{
    size_t n = 0;
    for (struct db_obj *o = db_first(db, API_C_task); o; o = db_next(db, o))
        if (task_status_pending(db_obj_str(o, API_F_task_status)))
            n++;
    return n;
}

/* Creates a pending task; fills ref. With run (an Async. call), lists it
 * as running before the task can be seen (task_register). */
static struct rpc_reply task_new(struct xapi_call *c, const char *label, const char *description,
                                 struct task_run *run, char ref[IDS_REF_LEN + 1])
{
    struct arena *a = c->a;
    struct db_values v = db_values_new(a, API_C_task);
    db_values_set(&v, API_F_task_name_label, val_string(a, label));
    db_values_set(&v, API_F_task_name_description, val_string(a, description));
    db_values_set(&v, API_F_task_allowed_operations, task_ops(a, true));
    db_values_set(&v, API_F_task_created, api_value_datetime(a, time(NULL)));
    db_values_set(&v, API_F_task_status, val_string(a, "pending"));
    db_values_set(&v, API_F_task_resident_on, val_string(a, c->x->id.host_ref));
    db_values_set(&v, API_F_task_progress, val_float(a, 0.0));
    struct db_txn *t = db_begin(c->x->db);
    if (task_count_pending(c->x->db) >= TASK_MAX_PENDING) {
        db_abort(t);
        log_warn(c->log_ctx, "%s: refused, %d tasks are pending", label, TASK_MAX_PENDING);
        return rpc_reply_error(a, API_ERR_TOO_MANY_PENDING_TASKS, NULL);
    }
    struct db_obj *o = db_txn_create(t, API_C_task, &v, NULL);
    memcpy(ref, o->ref, IDS_REF_LEN + 1);
    if (run) {
        memcpy(run->ref, ref, sizeof(run->ref));
        if (!task_register(c->x->tasks, run)) {
            db_abort(t);
            return rpc_reply_error(a, API_ERR_INTERNAL_ERROR, "xapi is shutting down", NULL);
        }
    }
    struct rpc_reply r = xapi_commit(c, t, val_string(a, ref));
    if (r.error && run)
        task_unregister(c->x->tasks, run);
    return r;
}

/* The task's result: the XML-RPC <value> of the reply's value, "" for void. */
static struct val *task_result_text(struct task_run *run, const struct rpc_reply *r)
{
    const struct api_type *t = run->msg->result;
    if (!r->value || r->value->type == VAL_NIL || (t && t->kind == API_VOID))
        return val_string(run->a, "");
    struct buf b = BUF_INIT;
    xmlrpc_write_value(&b, r->value);
    struct val *text = val_string_len(run->a, b.data, b.len);
    buf_free(&b);
    return text;
}

/* The reply's error as a string set. */
static struct val *task_error_info(struct arena *a, const struct val *error)
{
    struct val *e = val_array(a);
    for (size_t i = 0; error && error->type == VAL_ARRAY && i < error->u.arr.n; i++) {
        const char *s = val_str(error->u.arr.items[i]);
        val_array_push(a, e, val_string(a, s ? s : ""));
    }
    if (!e->u.arr.n)
        val_array_push(a, e, val_string(a, API_ERR_INTERNAL_ERROR));
    return e;
}

/* Records how the task ended. */
static void task_finish(struct task_run *run, const struct rpc_reply *r)
{
    struct arena *a = run->a;
    struct db *db = run->call.x->db;
    struct val *result = val_string(a, ""), *info = val_array(a);
    const char *status = "success";
    if (r->error) {
        status = "failure";
        info = task_error_info(a, r->error);
    } else {
        result = task_result_text(run, r);
    }
    if (r->error && strcmp(val_str(info->u.arr.items[0]), API_ERR_TASK_CANCELLED) == 0)
        status = "cancelled";
    struct val *finished = api_value_datetime(a, time(NULL));
    struct db_txn *t = db_begin(db);
    struct db_obj *o = db_get(db, API_C_task, run->ref);
    if (!o) {
        db_abort(t);
        log_info(run->call.log_ctx, "%s: task %s ended after it was destroyed", run->label,
                 run->ref);
        return;
    }
    if (atomic_load(&run->cancel)) { /* read under the lock task.cancel takes */
        status = "cancelled";
        result = val_string(a, "");
        info = task_cancelled_info(a, run->ref);
    }
    db_txn_set(t, o, API_F_task_status, val_string(a, status));
    db_txn_set(t, o, API_F_task_progress, val_float(a, 1.0));
    db_txn_set(t, o, API_F_task_finished, finished);
    db_txn_set(t, o, API_F_task_allowed_operations, task_ops(a, false));
    db_txn_set(t, o, API_F_task_result, result);
    db_txn_set(t, o, API_F_task_error_info, info);
    const char *err;
    if (db_commit(t, &err) < 0) {
        log_error(run->call.log_ctx, "%s: task %s ended (%s) but cannot be recorded: %s",
                  run->label, run->ref, status, err);
        return;
    }
    if (strcmp(status, "success") == 0)
        log_info(run->call.log_ctx, "%s: task %s ended: success", run->label, run->ref);
    else
        log_info(run->call.log_ctx, "%s: task %s ended: %s %s", run->label, run->ref, status,
                 val_str(info->u.arr.items[0]));
}

/* CXAPI_TASK_TEST_DELAY_MS: waits, watching the cancel flag. */
static void task_test_delay(struct task_run *run)
{
    for (long waited = 0; waited < run->tasks->delay_ms && !atomic_load(&run->cancel);
         waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* A job of the task pool: runs the message, records how it ended. */
static void task_job(void *arg)
{
    struct task_run *run = arg;
    struct tasks *ts = run->tasks;
    task_test_delay(run);
    struct rpc_reply r;
    if (atomic_load(&run->cancel))
        r = rpc_reply_error(run->a, API_ERR_TASK_CANCELLED, run->ref, NULL);
    else
        r = run->fn(&run->call);
    assert(!db_locked_by_me(ts->x->db)); /* as dispatch asserts for a call */
    task_finish(run, &r);
    task_unregister(ts, run);
    arena_free(run->a);
}

struct rpc_reply xapi_async(struct xapi_call *c, xapi_explicit_fn fn)
{
    struct tasks *ts = c->x->tasks;
    pthread_mutex_lock(&ts->lock);
    bool stopping = ts->stopping;
    pthread_mutex_unlock(&ts->lock);
    if (stopping)
        return rpc_reply_error(c->a, API_ERR_INTERNAL_ERROR, "xapi is shutting down", NULL);
    const char *label = arena_printf(c->a, "Async.%s", c->m->wire_name);
    struct arena *a = arena_new();
    struct task_run *run = arena_zalloc(a, sizeof(*run));
    atomic_init(&run->cancel, false);
    run->tasks = ts;
    run->a = a;
    run->msg = c->m;
    run->fn = fn;
    run->label = arena_strdup(a, label);
    run->call = *c;
    run->call.a = a;
    run->call.task = run;
    run->call.client = NULL; /* the task outlives the connection it came on */
    run->call.args = arena_zalloc(a, (c->n_args ? c->n_args : 1) * sizeof(struct val *));
    for (size_t i = 0; i < c->n_args; i++)
        run->call.args[i] = c->args[i] ? val_copy(a, c->args[i]) : NULL;
    run->call.session = c->session ? arena_strdup(a, c->session) : NULL;
    char ref[IDS_REF_LEN + 1];
    struct rpc_reply reply = task_new(c, label, "", run, ref);
    if (reply.error) {
        arena_free(a);
        return reply;
    }
    run->call.log_ctx = arena_printf(a, "task:%s", ref);
    log_info(c->log_ctx, "%s: task %s started", label, ref);
    if (workers_submit(ts->workers, task_job, run) < 0) {
        log_error(c->log_ctx, "%s: cannot run task %s", label, ref);
        struct rpc_reply fail =
            rpc_reply_error(a, API_ERR_INTERNAL_ERROR, "cannot start a thread", NULL);
        task_finish(run, &fail);
        task_unregister(ts, run);
        arena_free(a);
    }
    return reply;
}

/* --- the module --- */

/* Non-negative seconds from the environment, or dflt, at least min. */
static long task_env(const char *name, long dflt, long min)
{
    long v = task_env_long(name, dflt);
    return v < min ? min : v;
}

static int task_start(struct xapi *x)
{
    struct tasks *ts = xcalloc(1, sizeof(*ts));
    ts->x = x;
    pthread_mutex_init(&ts->lock, NULL);
    clock_cond_init(&ts->none_running);
    list_init(&ts->runs);
    ts->workers = workers_new(TASK_MAX_PENDING);
    ts->delay_ms = task_env_long("CXAPI_TASK_TEST_DELAY_MS", 0);
    pthread_mutex_init(&ts->gc_lock, NULL);
    clock_cond_init(&ts->gc_wake);
    ts->gc_interval_s = task_env("CXAPI_TASK_GC_INTERVAL_S", TASK_GC_INTERVAL_S, 1);
    ts->gc_finished_s = task_env("CXAPI_TASK_GC_FINISHED_S", TASK_GC_FINISHED_S, 0);
    ts->gc_pending_s = task_env("CXAPI_TASK_GC_PENDING_S", TASK_GC_PENDING_S, 0);
    x->tasks = ts;
    int rc = pthread_create(&ts->gc_thread, NULL, task_gc_main, ts);
    if (rc != 0)
        log_error(NULL, "task gc: cannot start its thread: %s", strerror(rc));
    ts->gc_running = rc == 0;
    return 0;
}

/* Asks every running task to cancel and waits up to TASK_STOP_MS for
 * them to end; new Async. calls are refused from now on. A task that
 * would not end is left running (its thread cannot be stopped from
 * outside) and counted: then nothing it uses may be freed. */
static int task_stop(struct xapi *x)
{
    struct tasks *ts = x->tasks;
    if (!ts)
        return 0;
    int64_t deadline = clock_now_ms() + TASK_STOP_MS;
    pthread_mutex_lock(&ts->lock);
    ts->stopping = true;
    for (struct list_node *n = list_first(&ts->runs); n; n = list_next(&ts->runs, n))
        atomic_store(&LIST_ENTRY(n, struct task_run, node)->cancel, true);
    while (!list_empty(&ts->runs) && clock_cond_wait_until(&ts->none_running, &ts->lock, deadline))
        ;
    int running = (int)list_length(&ts->runs);
    pthread_mutex_unlock(&ts->lock);
    pthread_mutex_lock(&ts->gc_lock);
    ts->gc_stop = true;
    pthread_cond_signal(&ts->gc_wake);
    pthread_mutex_unlock(&ts->gc_lock);
    if (ts->gc_running)
        pthread_join(ts->gc_thread, NULL);
    ts->gc_running = false;
    if (running) {
        log_warn(NULL, "%d task(s) still running at shutdown after %d ms", running, TASK_STOP_MS);
        return running;
    }
    workers_stop(ts->workers); /* every job has ended: this joins at once */
    return 0;
}

static void task_free(struct xapi *x)
{
    struct tasks *ts = x->tasks;
    if (!ts)
        return;
    workers_free(ts->workers);
    pthread_mutex_destroy(&ts->lock);
    pthread_cond_destroy(&ts->none_running);
    pthread_mutex_destroy(&ts->gc_lock);
    pthread_cond_destroy(&ts->gc_wake);
    free(ts);
    x->tasks = NULL;
}

/* --- the task messages --- */

/* The task ref in an open transaction, or NULL with *reply (and the
 * transaction undone). */
static struct db_obj *task_lookup(struct xapi_call *c, struct db_txn *t, const char *ref,
                                  struct rpc_reply *reply)
{
    struct db_obj *o = db_get(c->x->db, API_C_task, ref);
    if (!o) {
        db_abort(t);
        *reply = xapi_handle_invalid(c, API_C_task, ref);
    }
    return o;
}

static struct rpc_reply task_create(struct xapi_call *c)
{
    char ref[IDS_REF_LEN + 1];
    const char *label = xapi_arg_str(c, API_P_task_create_label);
    struct rpc_reply r =
        task_new(c, label, xapi_arg_str(c, API_P_task_create_description), NULL, ref);
    if (!r.error)
        log_info(c->log_ctx, "task.create: task %s (%s) created", ref, label);
    return r;
}

static struct rpc_reply task_destroy(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_lookup(c, t, xapi_arg_str(c, API_P_task_destroy_self), &reply);
    if (!o)
        return reply;
    bool running = task_flag_cancel(c->x->tasks, o->ref);
    log_info(c->log_ctx, "task.destroy: task %s%s", o->ref, running ? " (still running)" : "");
    db_txn_destroy(t, o);
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply task_cancel(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_lookup(c, t, xapi_arg_str(c, API_P_task_cancel_task), &reply);
    if (!o)
        return reply;
    const char *status = db_obj_str(o, API_F_task_status);
    if (strcmp(status, "cancelling") == 0) {
        db_abort(t);
        return rpc_reply_ok(val_nil(c->a));
    }
    if (strcmp(status, "pending") != 0) {
        const char *why = arena_printf(c->a, "task %s is %s: only a pending task can be cancelled",
                                       o->ref, status);
        db_abort(t);
        return rpc_reply_error(c->a, API_ERR_OPERATION_NOT_ALLOWED, why, NULL);
    }
    db_txn_set(t, o, API_F_task_allowed_operations, task_ops(c->a, false));
    if (task_flag_cancel(c->x->tasks, o->ref)) {
        db_txn_set(t, o, API_F_task_status, val_string(c->a, "cancelling"));
        log_info(c->log_ctx, "task.cancel: task %s cancelling", o->ref);
    } else { /* the client's own task (task.create): nothing runs to stop */
        db_txn_set(t, o, API_F_task_status, val_string(c->a, "cancelled"));
        db_txn_set(t, o, API_F_task_error_info, task_cancelled_info(c->a, o->ref));
        db_txn_set(t, o, API_F_task_finished, api_value_datetime(c->a, time(NULL)));
        db_txn_set(t, o, API_F_task_progress, val_float(c->a, 1.0));
        log_info(c->log_ctx, "task.cancel: task %s cancelled", o->ref);
    }
    return xapi_commit(c, t, val_nil(c->a));
}

/* A client's change to field f of task ref. */
static struct rpc_reply task_set_field(struct xapi_call *c, const char *ref, api_field_id f,
                                       const struct val *value)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_lookup(c, t, ref, &reply);
    if (!o)
        return reply;
    db_txn_set(t, o, f, value);
    if (f == API_F_task_status) {
        const char *status = val_str(value);
        bool pending = task_status_pending(status);
        db_txn_set(t, o, API_F_task_allowed_operations,
                   task_ops(c->a, strcmp(status, "pending") == 0));
        char epoch[API_DATETIME_LEN];
        if (!pending && task_at_or_before(db_obj_field(o, API_F_task_finished),
                                          api_datetime_format(epoch, sizeof(epoch), 0)))
            db_txn_set(t, o, API_F_task_finished, api_value_datetime(c->a, time(NULL)));
    }
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply task_set_error_info(struct xapi_call *c)
{
    return task_set_field(c, xapi_arg_str(c, API_P_task_set_error_info_self), API_F_task_error_info,
                          xapi_arg(c, API_P_task_set_error_info_value));
}

static struct rpc_reply task_set_progress_msg(struct xapi_call *c)
{
    double p = xapi_arg_float(c, API_P_task_set_progress_value);
    if (!(p >= 0.0))
        p = 0.0;
    if (p > 1.0)
        p = 1.0;
    return task_set_field(c, xapi_arg_str(c, API_P_task_set_progress_self), API_F_task_progress,
                          val_float(c->a, p));
}

static struct rpc_reply task_set_result(struct xapi_call *c)
{
    return task_set_field(c, xapi_arg_str(c, API_P_task_set_result_self), API_F_task_result,
                          xapi_arg(c, API_P_task_set_result_value));
}

static struct rpc_reply task_set_status(struct xapi_call *c)
{
    return task_set_field(c, xapi_arg_str(c, API_P_task_set_status_self), API_F_task_status,
                          xapi_arg(c, API_P_task_set_status_value));
}

static const struct xapi_explicit task_messages[] = {
    {API_M_task_cancel, task_cancel},
    {API_M_task_create, task_create},
    {API_M_task_destroy, task_destroy},
    {API_M_task_set_error_info, task_set_error_info},
    {API_M_task_set_progress, task_set_progress_msg},
    {API_M_task_set_result, task_set_result},
    {API_M_task_set_status, task_set_status},
    {0, NULL},
};

const struct xapi_module task_module = {
    .name = "task",
    .messages = task_messages,
    .start = task_start,
    .stop = task_stop,
    .free = task_free,
};
