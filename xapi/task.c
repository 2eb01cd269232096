/*
 * task.c - tasks and Async. calls.
 */
#include "xapi.h"
#include "api.h"

const struct xapi_explicit xapi_task_messages[] = {
    {NULL, NULL},
};

struct rpc_reply xapi_async(struct xapi_call *c, xapi_explicit_fn fn)
{
    return rpc_reply_error(c->a, "MESSAGE_METHOD_UNKNOWN",
                           arena_printf(c->a, "Async.%s", c->m->wire_name), NULL);
}
