/*
 * tasks.c - the task table (see tasks.h): a map by id, and the finished
 * tasks in a list in the order they finished, which is the order the
 * bound drops them in.
 */
#include "tasks.h"
#include "clock.h"
#include "hmap.h"
#include "list.h"
#include "lifecycle.h"
#include "mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum xo_task_state { XO_TASK_PENDING, XO_TASK_COMPLETED, XO_TASK_FAILED };
static const char *const xo_task_states[] = {"pending", "completed", "failed"};

struct xo_task {
    char id[IDS_UUID_LEN + 1];
    enum xo_task_state state;
    double progress;
    struct val *result, *error; /* flattened: one free() each */
    atomic_bool cancel;
    struct list_node node; /* in the finished list, once finished */
};

struct xo_tasks {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a task made progress or finished; CLOCK_MONOTONIC */
    bool stopping;
    struct hmap *by_id;
    struct list finished; /* oldest first */
    size_t max_finished;
    struct xo_updates *updates;
};

struct xo_tasks *xo_tasks_new(struct xo_updates *updates, size_t max_finished)
{
    struct xo_tasks *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    clock_cond_init(&t->changed);
    t->by_id = hmap_new();
    list_init(&t->finished);
    t->updates = updates;
    t->max_finished = max_finished ? max_finished : 1;
    return t;
}

static void xo_task_free(struct xo_task *k)
{
    free(k->result);
    free(k->error);
    free(k);
}

void xo_tasks_free(struct xo_tasks *t)
{
    if (!t)
        return;
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(t->by_id, &it, &key, &value);)
        xo_task_free(value);
    hmap_free(t->by_id);
    pthread_cond_destroy(&t->changed);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

struct xo_task *xo_task_new(struct xo_tasks *t)
{
    struct xo_task *k = xcalloc(1, sizeof(*k));
    ids_uuid(k->id);
    atomic_init(&k->cancel, false);
    pthread_mutex_lock(&t->lock);
    hmap_put(t->by_id, k->id, k);
    pthread_mutex_unlock(&t->lock);
    xo_updates_post(t->updates, "Task", k->id);
    return k;
}

const char *xo_task_id(const struct xo_task *k)
{
    return k->id;
}

void xo_task_progress(struct xo_tasks *t, struct xo_task *k, double progress)
{
    pthread_mutex_lock(&t->lock);
    k->progress = progress;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    xo_updates_post(t->updates, "Task", k->id);
}

/* Called with the lock held. */
static void xo_tasks_finished(struct xo_tasks *t, struct xo_task *k)
{
    k->progress = 1.0;
    list_push_back(&t->finished, &k->node);
    while (list_length(&t->finished) > t->max_finished) {
        struct xo_task *old = LIST_ENTRY(list_pop_front(&t->finished), struct xo_task, node);
        hmap_del(t->by_id, old->id);
        xo_task_free(old);
    }
}

static void xo_task_finish(struct xo_tasks *t, struct xo_task *k, enum xo_task_state state,
                           const struct val *result, const struct val *error)
{
    struct val *r = result ? val_flatten(result) : NULL;
    struct val *e = error ? val_flatten(error) : NULL;
    char id[IDS_UUID_LEN + 1];
    memcpy(id, k->id, sizeof(id));
    pthread_mutex_lock(&t->lock);
    k->state = state;
    k->result = r;
    k->error = e;
    xo_tasks_finished(t, k);
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    /* k may be gone already (destroyed, or dropped by the bound). */
    xo_updates_post(t->updates, "Task", id);
}

void xo_task_complete(struct xo_tasks *t, struct xo_task *k, const struct val *result)
{
    xo_task_finish(t, k, XO_TASK_COMPLETED, result, NULL);
}

void xo_task_fail(struct xo_tasks *t, struct xo_task *k, const struct val *error)
{
    xo_task_finish(t, k, XO_TASK_FAILED, NULL, error);
}

const atomic_bool *xo_task_cancel_flag(const struct xo_task *k)
{
    return &k->cancel;
}

bool xo_task_cancelled(const struct xo_task *k)
{
    return atomic_load(&k->cancel);
}

void xo_task_request_cancel(struct xo_task *k)
{
    atomic_store(&k->cancel, true);
}

struct xo_task *xo_task_find_pending(struct xo_tasks *t, const char *id, bool *exists)
{
    pthread_mutex_lock(&t->lock);
    struct xo_task *k = hmap_get(t->by_id, id);
    *exists = k != NULL;
    if (k && k->state != XO_TASK_PENDING)
        k = NULL;
    pthread_mutex_unlock(&t->lock);
    return k;
}

struct val *xo_task_stat(struct xo_tasks *t, const char *id, struct arena *a)
{
    pthread_mutex_lock(&t->lock);
    struct xo_task *k = hmap_get(t->by_id, id);
    struct val *st = NULL;
    if (k) {
        st = val_struct_sized(a, 5);
        val_struct_add_static(a, st, "id", val_string(a, k->id));
        val_struct_add_static(a, st, "state", val_string(a, xo_task_states[k->state]));
        val_struct_add_static(a, st, "progress", val_float(a, k->progress));
        val_struct_add_static(a, st, "result", k->result ? val_copy(a, k->result) : val_nil(a));
        val_struct_add_static(a, st, "error", k->error ? val_copy(a, k->error) : val_nil(a));
    }
    pthread_mutex_unlock(&t->lock);
    return st;
}

struct val *xo_task_wait(struct xo_tasks *t, const char *id, int64_t timeout_ms, struct arena *a)
{
    int64_t deadline = clock_now_ms() + timeout_ms;
    pthread_mutex_lock(&t->lock);
    struct xo_task *k = hmap_get(t->by_id, id);
    double seen = k ? k->progress : 0.0;
    /* looked up again after each wait: a task that finished meanwhile
     * may have been destroyed */
    while (k && k->state == XO_TASK_PENDING && k->progress == seen && !t->stopping &&
           clock_now_ms() < deadline) {
        clock_cond_wait_until(&t->changed, &t->lock, deadline);
        k = hmap_get(t->by_id, id);
    }
    pthread_mutex_unlock(&t->lock);
    return xo_task_stat(t, id, a);
}

struct val *xo_task_list(struct xo_tasks *t, struct arena *a)
{
    struct val *ids = val_array(a);
    pthread_mutex_lock(&t->lock);
    const char *key;
    void *value;
    for (size_t it = 0; hmap_next(t->by_id, &it, &key, &value);)
        if (((struct xo_task *)value)->state == XO_TASK_PENDING)
            val_array_push(a, ids, val_string(a, key));
    pthread_mutex_unlock(&t->lock);
    return ids;
}

void xo_tasks_stop(struct xo_tasks *t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

int xo_task_destroy(struct xo_tasks *t, const char *id, struct arena *a, struct val **err)
{
    pthread_mutex_lock(&t->lock);
    struct xo_task *k = hmap_get(t->by_id, id);
    int rc = 0;
    if (!k) {
        rc = xo_fail(a, err, "HANDLE_INVALID", "task", id, NULL);
    } else if (k->state == XO_TASK_PENDING) {
        rc = xo_fail(a, err, "OPERATION_NOT_ALLOWED", "the task is still pending", NULL);
    } else {
        list_remove(&t->finished, &k->node);
        hmap_del(t->by_id, id);
        xo_task_free(k);
    }
    pthread_mutex_unlock(&t->lock);
    if (rc == 0)
        xo_updates_post(t->updates, "Task", id);
    return rc;
}
