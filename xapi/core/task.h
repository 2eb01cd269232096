/*
 * task.h - what code running as a task can ask about its task.
 *
 * An Async. call runs its message as a task (see task.c), and the call
 * carries it; a message may call these whether or not it runs as a task:
 * outside a task they do nothing.
 */
#ifndef CX_TASK_H
#define CX_TASK_H

#include <stdbool.h>

#include "core/xapi.h"

/* Whether task.cancel (or task.destroy) has been called on the task c runs
 * as. Long-running code checks it between steps and, when true, stops and
 * returns any error: the task then ends as cancelled with error_info
 * ["TASK_CANCELLED", task]. False when c is not running as a task. */
bool task_cancelling(const struct xapi_call *c);

/* The ref of the task c runs as, or NULL. */
const char *task_ref(const struct xapi_call *c);

/* Sets the progress (clamped to 0..1) of the task c runs as; does nothing
 * when c is not running as a task. */
void task_set_progress(struct xapi_call *c, double progress);

#endif
