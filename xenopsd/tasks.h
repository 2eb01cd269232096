/*
 * tasks.h - every operation is a task: pending until it completes or
 * fails, with a progress in [0, 1], a result or an error, and a cancel
 * flag the operation looks at where it can stop. Each change posts a
 * "Task" update.
 *
 * A task lives until TASK.destroy; finished tasks nobody destroys are
 * dropped, oldest first, once there are more than a bound of them, so a
 * client that forgets to destroy cannot grow xenopsd without limit.
 * A pending task's pointer stays valid until it finishes: only finished
 * tasks are ever freed.
 */
#ifndef XO_TASKS_H
#define XO_TASKS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "arena.h"
#include "ids.h"
#include "updates.h"
#include "value.h"

struct xo_task;
struct xo_tasks;

struct xo_tasks *xo_tasks_new(struct xo_updates *updates, size_t max_finished);
void xo_tasks_free(struct xo_tasks *t);

struct xo_task *xo_task_new(struct xo_tasks *t);
const char *xo_task_id(const struct xo_task *k);
void xo_task_progress(struct xo_tasks *t, struct xo_task *k, double progress);
/* result NULL = null. Both copy what they are given. */
void xo_task_complete(struct xo_tasks *t, struct xo_task *k, const struct val *result);
void xo_task_fail(struct xo_tasks *t, struct xo_task *k, const struct val *error);
/* The flag an operation polls; set by xo_task_request_cancel. */
const atomic_bool *xo_task_cancel_flag(const struct xo_task *k);
bool xo_task_cancelled(const struct xo_task *k);

/* The task with id if it is pending, else NULL; *exists tells whether
 * there is such a task at all. */
struct xo_task *xo_task_find_pending(struct xo_tasks *t, const char *id, bool *exists);
void xo_task_request_cancel(struct xo_task *k);

/* {id, state, progress, result, error} in a; NULL if there is no such task. */
struct val *xo_task_stat(struct xo_tasks *t, const char *id, struct arena *a);
/* Blocks until the task id is no longer pending, its progress moves,
 * timeout_ms pass or xo_tasks_stop; then its stat as xo_task_stat. */
struct val *xo_task_wait(struct xo_tasks *t, const char *id, int64_t timeout_ms, struct arena *a);
/* The ids of the pending tasks, in a. */
struct val *xo_task_list(struct xo_tasks *t, struct arena *a);
/* Wakes every xo_task_wait, and makes new ones return at once. */
void xo_tasks_stop(struct xo_tasks *t);
/* 0, or -1 with HANDLE_INVALID / OPERATION_NOT_ALLOWED (still pending). */
int xo_task_destroy(struct xo_tasks *t, const char *id, struct arena *a, struct val **err);

#endif
