/*
 * explicit.c - the table of hand-written messages. A message of the
 * schema that is neither implicit nor listed here answers
 * MESSAGE_METHOD_UNKNOWN. Few enough that a linear search costs nothing
 * next to the call itself.
 */
#include "core/xapi.h"
#include "api/api.h"

#include <string.h>

/* Each module's table, sorted by wire name and ended by {NULL, NULL};
 * xapi_explicit_verify checks them. */
static const struct xapi_explicit xapi_session_messages[] = {
    {"session.change_password", session_change_password},
    {"session.get_all_subject_identifiers", session_get_all_subject_identifiers},
    /* Every session here is this host's own, so ending one is the same
     * either way. */
    {"session.local_logout", session_logout},
    {"session.login_with_password", session_login_with_password},
    {"session.logout", session_logout},
    {"session.logout_subject_identifier", session_logout_subject_identifier},
    /* A member's local login: the same check here, where every host is its
     * own master. */
    {"session.slave_local_login_with_password", session_login_with_password},
    {NULL, NULL},
};

static const struct xapi_explicit *const xapi_explicit_tables[] = {
    xapi_session_messages, xapi_event_messages, xapi_task_messages, xapi_message_messages,
    xapi_rbac_messages,    xapi_host_messages,  xapi_vm_messages,
};

#define XAPI_N_TABLES (sizeof(xapi_explicit_tables) / sizeof(xapi_explicit_tables[0]))

xapi_explicit_fn xapi_explicit_find(const char *wire_name)
{
    for (size_t t = 0; t < XAPI_N_TABLES; t++)
        for (const struct xapi_explicit *e = xapi_explicit_tables[t]; e->wire_name; e++)
            if (strcmp(e->wire_name, wire_name) == 0)
                return e->fn;
    return NULL;
}

const char *xapi_explicit_verify(void)
{
    for (size_t t = 0; t < XAPI_N_TABLES; t++) {
        for (const struct xapi_explicit *e = xapi_explicit_tables[t]; e->wire_name; e++) {
            const struct api_message *m = api_message_find(e->wire_name);
            if (!m || m->impl != API_EXPLICIT ||
                (e != xapi_explicit_tables[t] && strcmp(e[-1].wire_name, e->wire_name) >= 0))
                return e->wire_name;
            for (size_t u = 0; u < t; u++) /* and no name in two tables */
                for (const struct xapi_explicit *d = xapi_explicit_tables[u]; d->wire_name; d++)
                    if (strcmp(d->wire_name, e->wire_name) == 0)
                        return e->wire_name;
        }
    }
    return NULL;
}
