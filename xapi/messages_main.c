/*
 * messages_main.c - build/xapi/xapi-messages: how this build answers each
 * message of the schema, one line each, "<wire name> <how>", where how is
 *   implicit   the generic implementation the schema implies
 *   overlay    an explicit message of the datamodel that the overlay
 *              answers with an implicit implementation
 *   explicit   a module's hand-written implementation
 *   missing    nothing: the message answers MESSAGE_METHOD_UNKNOWN
 * read from the same tables xapi dispatches with, so tools/api-coverage
 * and docs/api-coverage.md cannot drift from the code.
 */
#include "api/api.h"
#include "core/module.h"
#include "core/xapi.h"

#include <stdio.h>

int main(void)
{
    struct xapi x = {0};
    const char *bad;
    if (xapi_modules_index(&x, &bad) < 0) {
        fprintf(stderr, "xapi-messages: a module's table names %s wrongly\n", bad);
        return 1;
    }
    for (int i = 0; i < api_n_messages; i++) {
        const struct api_message *m = &api_messages[i];
        const char *how = xapi_explicit_of(&x, m) ? "explicit" : "missing";
        if (m->impl != API_EXPLICIT)
            how = m->by_overlay ? "overlay" : "implicit";
        printf("%s %s\n", m->wire_name, how);
    }
    xapi_modules_unindex(&x);
    return 0;
}
