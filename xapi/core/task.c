/*
 * task.c - tasks and Async. calls.
 *
 * A task is a database object of class task, kept in memory only (as
 * upstream: a restart forgets every task), so its record, getters and
 * events come from the schema like any other class.
 *
 * Async.<class>.<message> creates a pending task, answers its ref at once
 * and runs the message on a detached thread with a copy of the call in an
 * arena of its own (the request's arena is gone by then). When the message
 * returns, the task records success and the result as the text of an
 * XML-RPC <value> ("" for void) whatever wire the call came on, as clients
 * parse it with an XML-RPC parser; or failure and error_info [code,
 * params...]; or, when task.cancel came first, cancelled and error_info
 * ["TASK_CANCELLED", task].
 *
 * Running tasks are listed in a small registry holding their cancel flags;
 * the thread of a task finds its entry through a thread-local (task.h).
 * Lock order: the database write lock, then task_runs_lock.
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
 * Garbage collection: a thread started with the first task wakes every
 * minute and destroys the tasks finished more than 65 minutes ago and those
 * pending for more than 24 hours (asking their threads to stop). Tests
 * shorten these through the environment of the daemon:
 *   CXAPI_TASK_GC_FINISHED_S  age in seconds of a finished task (3900)
 *   CXAPI_TASK_GC_PENDING_S   age in seconds of a pending task (86400)
 *   CXAPI_TASK_GC_INTERVAL_S  seconds between two sweeps (60)
 *   CXAPI_TASK_TEST_DELAY_MS  a task thread waits this long, watching its
 *                             cancel flag, before running its message, so
 *                             tests can see a running task (0)
 */
#include "core/xapi.h"
#include "core/task.h"
#include "api/api.h"
#include "api/api_ids.h"
#include "api/api_value.h"
#include "buf.h"
#include "clock.h"
#include "db/db.h"
#include "ids.h"
#include "log.h"
#include "mem.h"
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
    val_array_push(a, e, val_string(a, "TASK_CANCELLED"));
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
    struct task_run *next;
    char ref[IDS_REF_LEN + 1];
    atomic_bool cancel;
    struct arena *a; /* holds this struct and everything of the call */
    struct xapi_call call;
    /* The dispatch table's entry, for the result's type: a handler may
     * point call.m elsewhere (message_as points it at a copy on its stack)
     * and we must not read that after it returns. */
    const struct api_message *msg;
    xapi_explicit_fn fn;
    const char *label;
};

static pthread_mutex_t task_runs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t task_runs_empty = PTHREAD_COND_INITIALIZER;
static struct task_run *task_runs; /* under task_runs_lock */
static bool task_stopping;         /* under task_runs_lock */

static _Thread_local struct task_run *task_self;

/* Lists run, unless xapi is shutting down. Called inside the transaction
 * that creates its task, so that task.cancel, which needs the write lock to
 * find the task, always finds the run too: listed after the commit, a
 * cancel in between took the task for a client's own and ended it, and then
 * the thread overwrote that with its result. */
static bool task_register(struct task_run *run)
{
    pthread_mutex_lock(&task_runs_lock);
    bool stopping = task_stopping;
    if (!stopping) {
        run->next = task_runs;
        task_runs = run;
    }
    pthread_mutex_unlock(&task_runs_lock);
    return !stopping;
}

/* Sets the cancel flag of the running task ref; false when none runs. */
static bool task_flag_cancel(const char *ref)
{
    bool found = false;
    pthread_mutex_lock(&task_runs_lock);
    for (struct task_run *r = task_runs; r; r = r->next) {
        if (strcmp(r->ref, ref) == 0) {
            atomic_store(&r->cancel, true);
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&task_runs_lock);
    return found;
}

static void task_unregister(struct task_run *run)
{
    pthread_mutex_lock(&task_runs_lock);
    for (struct task_run **p = &task_runs; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            break;
        }
    }
    if (!task_runs)
        pthread_cond_broadcast(&task_runs_empty);
    pthread_mutex_unlock(&task_runs_lock);
}

bool task_cancelling(const struct xapi_call *c)
{
    struct task_run *r = task_self;
    return c && r && atomic_load(&r->cancel);
}

const char *task_ref(const struct xapi_call *c)
{
    struct task_run *r = task_self;
    return c && r ? r->ref : NULL;
}

void task_set_progress(struct xapi_call *c, double progress)
{
    struct task_run *r = task_self;
    if (!c || !r)
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

static pthread_once_t task_gc_once = PTHREAD_ONCE_INIT;
static struct xapi *_Atomic task_gc_x; /* set before task_gc_once runs */
static pthread_mutex_t task_gc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t task_gc_cond;
static bool task_gc_started, task_gc_stop; /* under task_gc_lock */
static pthread_t task_gc_thread;

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
static void task_sweep(struct xapi *x, int64_t now, long finished_s, long pending_s)
{
    struct db *db = x->db;
    struct db_txn *t = db_begin(db);
    size_t n = db_count(db, API_C_task);
    struct db_obj **doomed = xcalloc(n ? n : 1, sizeof(*doomed));
    struct task_gc_item *done = xcalloc(n ? n : 1, sizeof(*done));
    size_t n_doomed = 0, n_done = 0;
    char pending_cut[API_DATETIME_LEN], finished_cut[API_DATETIME_LEN];
    api_datetime_format(pending_cut, sizeof(pending_cut), now - pending_s);
    api_datetime_format(finished_cut, sizeof(finished_cut), now - finished_s);
    for (struct db_obj *o = db_first(db, API_C_task); o && n_doomed + n_done < n; o = o->next) {
        if (task_status_pending(val_str(o->f[API_F_task_status]))) {
            if (task_at_or_before(o->f[API_F_task_created], pending_cut))
                doomed[n_doomed++] = o;
            continue;
        }
        struct task_gc_item *it = &done[n_done];
        api_datetime_comparable(it->finished, sizeof(it->finished), o->f[API_F_task_finished]);
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
        const char *status = val_str(o->f[API_F_task_status]);
        if (task_status_pending(status))
            task_flag_cancel(o->ref);
        log_info(NULL, "task gc: destroying %s task %s (%s)", status, o->ref,
                 val_str(o->f[API_F_task_name_label]));
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
    struct xapi *x = arg;
    long interval = task_env_long("CXAPI_TASK_GC_INTERVAL_S", TASK_GC_INTERVAL_S);
    long finished_s = task_env_long("CXAPI_TASK_GC_FINISHED_S", TASK_GC_FINISHED_S);
    long pending_s = task_env_long("CXAPI_TASK_GC_PENDING_S", TASK_GC_PENDING_S);
    if (interval < 1)
        interval = 1;
    log_info(NULL, "task gc: every %ld s, finished tasks after %ld s, pending after %ld s",
             interval, finished_s, pending_s);
    for (;;) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += interval;
        pthread_mutex_lock(&task_gc_lock);
        while (!task_gc_stop &&
               pthread_cond_timedwait(&task_gc_cond, &task_gc_lock, &deadline) != ETIMEDOUT)
            ;
        bool stop = task_gc_stop;
        pthread_mutex_unlock(&task_gc_lock);
        if (stop)
            break;
        task_sweep(x, (int64_t)time(NULL), finished_s, pending_s);
    }
    return NULL;
}

static void task_gc_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&task_gc_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&task_gc_lock);
    if (!task_gc_stop) {
        int rc = pthread_create(&task_gc_thread, NULL, task_gc_main, atomic_load(&task_gc_x));
        if (rc == 0)
            task_gc_started = true;
        else
            log_error(NULL, "task gc: cannot start its thread: %s", strerror(rc));
    }
    pthread_mutex_unlock(&task_gc_lock);
}

static void task_gc_start(struct xapi *x)
{
    atomic_store(&task_gc_x, x); /* one xapi per process */
    pthread_once(&task_gc_once, task_gc_init);
}

/* --- creating and ending tasks --- */

static size_t task_count_pending(struct db *db)
{
    size_t n = 0;
    for (struct db_obj *o = db_first(db, API_C_task); o; o = o->next)
        if (task_status_pending(val_str(o->f[API_F_task_status])))
            n++;
    return n;
}

/* Creates a pending task; fills ref. With run (an Async. call), lists it
 * as running before the task can be seen (task_register). */
static struct rpc_reply task_new(struct xapi_call *c, const char *label, const char *description,
                                 struct task_run *run, char ref[IDS_REF_LEN + 1])
{
    int cls = API_C_task;
    struct arena *a = c->a;
    struct val **v = arena_zalloc(a, (size_t)api_classes[cls].n_fields * sizeof(*v));
    v[API_F_task_name_label] = val_string(a, label);
    v[API_F_task_name_description] = val_string(a, description);
    v[API_F_task_allowed_operations] = task_ops(a, true);
    v[API_F_task_created] = api_value_datetime(a, time(NULL));
    v[API_F_task_status] = val_string(a, "pending");
    v[API_F_task_resident_on] = val_string(a, c->x->id.host_ref);
    v[API_F_task_progress] = val_float(a, 0.0);
    task_gc_start(c->x);
    struct db_txn *t = db_begin(c->x->db);
    if (task_count_pending(c->x->db) >= TASK_MAX_PENDING) {
        db_abort(t);
        log_warn(c->log_ctx, "%s: refused, %d tasks are pending", label, TASK_MAX_PENDING);
        return rpc_reply_error(a, "TOO_MANY_PENDING_TASKS", NULL);
    }
    struct db_obj *o = db_txn_create(t, cls, v, NULL);
    memcpy(ref, o->ref, IDS_REF_LEN + 1);
    if (run) {
        memcpy(run->ref, ref, sizeof(run->ref));
        if (!task_register(run)) {
            db_abort(t);
            return rpc_reply_error(a, "INTERNAL_ERROR", "xapi is shutting down", NULL);
        }
    }
    struct rpc_reply r = xapi_commit(c, t, val_string(a, ref));
    if (r.error && run)
        task_unregister(run);
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
        val_array_push(a, e, val_string(a, "INTERNAL_ERROR"));
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
    if (r->error && strcmp(val_str(info->u.arr.items[0]), "TASK_CANCELLED") == 0)
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
    long ms = task_env_long("CXAPI_TASK_TEST_DELAY_MS", 0);
    for (long waited = 0; waited < ms && !atomic_load(&run->cancel); waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void *task_thread(void *arg)
{
    struct task_run *run = arg;
    task_self = run;
    task_test_delay(run);
    struct rpc_reply r;
    if (atomic_load(&run->cancel))
        r = rpc_reply_error(run->a, "TASK_CANCELLED", run->ref, NULL);
    else
        r = run->fn(&run->call);
    task_finish(run, &r);
    task_self = NULL;
    task_unregister(run);
    arena_free(run->a);
    return NULL;
}

struct rpc_reply xapi_async(struct xapi_call *c, xapi_explicit_fn fn)
{
    pthread_mutex_lock(&task_runs_lock);
    bool stopping = task_stopping;
    pthread_mutex_unlock(&task_runs_lock);
    if (stopping)
        return rpc_reply_error(c->a, "INTERNAL_ERROR", "xapi is shutting down", NULL);
    const char *label = arena_printf(c->a, "Async.%s", c->m->wire_name);
    struct arena *a = arena_new();
    struct task_run *run = arena_zalloc(a, sizeof(*run));
    atomic_init(&run->cancel, false);
    run->a = a;
    run->msg = api_message_find(c->m->wire_name);
    assert(run->msg);
    run->fn = fn;
    run->label = arena_strdup(a, label);
    run->call = *c;
    run->call.a = a;
    run->call.m = run->msg;
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

    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, task_thread, run);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        log_error(c->log_ctx, "%s: cannot start a thread for task %s: %s", label, ref,
                  strerror(rc));
        struct rpc_reply fail = rpc_reply_error(a, "INTERNAL_ERROR", "cannot start a thread", NULL);
        task_finish(run, &fail);
        task_unregister(run);
        arena_free(a);
    }
    return reply;
}

int task_shutdown(int timeout_ms)
{
    struct timespec deadline = clock_timespec_after(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&task_runs_lock);
    task_stopping = true;
    for (struct task_run *r = task_runs; r; r = r->next)
        atomic_store(&r->cancel, true);
    while (task_runs &&
           pthread_cond_timedwait(&task_runs_empty, &task_runs_lock, &deadline) != ETIMEDOUT)
        ;
    int running = 0;
    for (struct task_run *r = task_runs; r; r = r->next)
        running++;
    pthread_mutex_unlock(&task_runs_lock);
    if (running)
        log_warn(NULL, "%d task threads still running at shutdown after %d ms", running,
                 timeout_ms);

    pthread_mutex_lock(&task_gc_lock);
    task_gc_stop = true;
    bool started = task_gc_started;
    if (started)
        pthread_cond_signal(&task_gc_cond);
    pthread_mutex_unlock(&task_gc_lock);
    if (started)
        pthread_join(task_gc_thread, NULL);
    return running;
}

/* --- the task messages --- */

/* The task named by args[1] in an open transaction, or NULL with *reply. */
static struct db_obj *task_self_obj(struct xapi_call *c, struct db_txn *t, struct rpc_reply *reply)
{
    const char *ref = val_str(c->args[1]);
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
    struct rpc_reply r = task_new(c, val_str(c->args[1]), val_str(c->args[2]), NULL, ref);
    if (!r.error)
        log_info(c->log_ctx, "task.create: task %s (%s) created", ref, val_str(c->args[1]));
    return r;
}

static struct rpc_reply task_destroy(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_self_obj(c, t, &reply);
    if (!o)
        return reply;
    bool running = task_flag_cancel(o->ref);
    log_info(c->log_ctx, "task.destroy: task %s%s", o->ref, running ? " (still running)" : "");
    db_txn_destroy(t, o);
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply task_cancel(struct xapi_call *c)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_self_obj(c, t, &reply);
    if (!o)
        return reply;
    const char *status = val_str(o->f[API_F_task_status]);
    if (strcmp(status, "cancelling") == 0) {
        db_abort(t);
        return rpc_reply_ok(val_nil(c->a));
    }
    if (strcmp(status, "pending") != 0) {
        const char *why = arena_printf(c->a, "task %s is %s: only a pending task can be cancelled",
                                       o->ref, status);
        db_abort(t);
        return rpc_reply_error(c->a, "OPERATION_NOT_ALLOWED", why, NULL);
    }
    db_txn_set(t, o, API_F_task_allowed_operations, task_ops(c->a, false));
    if (task_flag_cancel(o->ref)) {
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

static struct rpc_reply task_set_field(struct xapi_call *c, int field, struct val *value)
{
    struct rpc_reply reply;
    struct db_txn *t = db_begin(c->x->db);
    struct db_obj *o = task_self_obj(c, t, &reply);
    if (!o)
        return reply;
    db_txn_set(t, o, field, value);
    if (field == API_F_task_status) {
        const char *status = val_str(value);
        bool pending = task_status_pending(status);
        db_txn_set(t, o, API_F_task_allowed_operations,
                   task_ops(c->a, strcmp(status, "pending") == 0));
        char epoch[API_DATETIME_LEN];
        if (!pending && task_at_or_before(o->f[API_F_task_finished],
                                          api_datetime_format(epoch, sizeof(epoch), 0)))
            db_txn_set(t, o, API_F_task_finished, api_value_datetime(c->a, time(NULL)));
    }
    return xapi_commit(c, t, val_nil(c->a));
}

static struct rpc_reply task_set_error_info(struct xapi_call *c)
{
    return task_set_field(c, API_F_task_error_info, c->args[2]);
}

static struct rpc_reply task_set_progress_msg(struct xapi_call *c)
{
    double p = c->args[2]->u.f;
    if (!(p >= 0.0))
        p = 0.0;
    if (p > 1.0)
        p = 1.0;
    return task_set_field(c, API_F_task_progress, val_float(c->a, p));
}

static struct rpc_reply task_set_result(struct xapi_call *c)
{
    return task_set_field(c, API_F_task_result, c->args[2]);
}

static struct rpc_reply task_set_status(struct xapi_call *c)
{
    return task_set_field(c, API_F_task_status, c->args[2]);
}

const struct xapi_explicit xapi_task_messages[] = {
    {"task.cancel", task_cancel},
    {"task.create", task_create},
    {"task.destroy", task_destroy},
    {"task.set_error_info", task_set_error_info},
    {"task.set_progress", task_set_progress_msg},
    {"task.set_result", task_set_result},
    {"task.set_status", task_set_status},
    {NULL, NULL},
};
