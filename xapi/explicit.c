/*
 * explicit.c - the table of hand-written messages. A message of the
 * schema that is neither implicit nor listed here answers
 * MESSAGE_METHOD_UNKNOWN.
 */
#include "xapi.h"
#include "api.h"

#include <stdlib.h>
#include <string.h>

struct xapi_explicit {
    const char *wire_name;
    xapi_explicit_fn fn;
};

/* Sorted by wire name; xapi_explicit_verify checks it. */
static const struct xapi_explicit xapi_explicit_table[] = {
    {"session.local_logout", session_local_logout},
    {"session.login_with_password", session_login_with_password},
    {"session.logout", session_logout},
};

static int xapi_explicit_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct xapi_explicit *)elem)->wire_name);
}

xapi_explicit_fn xapi_explicit_find(const char *wire_name)
{
    const struct xapi_explicit *e =
        bsearch(wire_name, xapi_explicit_table,
                sizeof(xapi_explicit_table) / sizeof(xapi_explicit_table[0]),
                sizeof(xapi_explicit_table[0]), xapi_explicit_cmp);
    return e ? e->fn : NULL;
}

const char *xapi_explicit_verify(void)
{
    size_t n = sizeof(xapi_explicit_table) / sizeof(xapi_explicit_table[0]);
    for (size_t i = 0; i < n; i++) {
        const struct api_message *m = api_message_find(xapi_explicit_table[i].wire_name);
        if (!m || m->impl != API_EXPLICIT ||
            (i > 0 &&
             strcmp(xapi_explicit_table[i - 1].wire_name, xapi_explicit_table[i].wire_name) >= 0))
            return xapi_explicit_table[i].wire_name;
    }
    return NULL;
}
