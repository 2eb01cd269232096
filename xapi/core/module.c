/*
 * module.c - the index of the modules' messages and hooks, built once per
 * xapi from xapi_modules[] (see module.h) so that dispatch and the
 * implicit messages find them by index, not by name.
 */
#include "core/module.h"
#include "api/api.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

/* Adds one module's messages; the wire name of an entry that is not an
 * explicit message of the schema or is listed twice, or NULL. */
static const char *xapi_index_messages(struct xapi *x, const struct xapi_explicit *e)
{
    for (; e && e->fn; e++) {
        if (e->msg < 0 || e->msg >= api_n_messages)
            return "(a message index out of range)";
        const struct api_message *m = &api_messages[e->msg];
        if (m->impl != API_EXPLICIT || x->handlers[e->msg])
            return m->wire_name;
        x->handlers[e->msg] = e->fn;
    }
    return NULL;
}

static const char *xapi_index_hooks(struct xapi *x, const struct xapi_class_hooks *h)
{
    for (; h && h->cls >= 0; h++) {
        if (h->cls >= api_n_classes)
            return "(a class index out of range)";
        const struct xapi_class_hooks **slot = &x->hooks[h->cls * (XAPI_HOOKS_PER_CLASS + 1)];
        int n = 0;
        while (slot[n])
            n++;
        if (n == XAPI_HOOKS_PER_CLASS)
            return api_classes[h->cls].name;
        slot[n] = h;
    }
    return NULL;
}

int xapi_modules_index(struct xapi *x, const char **why)
{
    x->handlers = xcalloc((size_t)api_n_messages, sizeof(*x->handlers));
    x->hooks = xcalloc((size_t)api_n_classes * (XAPI_HOOKS_PER_CLASS + 1), sizeof(*x->hooks));
    const struct xapi_module *const *mods =
        x->settings.modules ? x->settings.modules : xapi_modules;
    for (const struct xapi_module *const *m = mods; *m; m++) {
        const char *bad = xapi_index_messages(x, (*m)->messages);
        if (!bad)
            bad = xapi_index_hooks(x, (*m)->hooks);
        if (bad) {
            *why = bad;
            xapi_modules_unindex(x);
            return -1;
        }
    }
    return 0;
}

void xapi_modules_unindex(struct xapi *x)
{
    free(x->handlers);
    free(x->hooks);
    x->handlers = NULL;
    x->hooks = NULL;
}

xapi_explicit_fn xapi_explicit_of(const struct xapi *x, const struct api_message *m)
{
    return x->handlers[m - api_messages];
}

const struct xapi_http_route *xapi_http_route_of(const struct xapi *x, const char *method,
                                                 const char *path, bool *method_ok)
{
    const struct xapi_module *const *mods =
        x->settings.modules ? x->settings.modules : xapi_modules;
    const struct xapi_http_route *found = NULL;
    *method_ok = false;
    for (size_t i = 0; mods[i]; i++)
        for (const struct xapi_http_route *r = mods[i]->routes; r && r->path; r++)
            if (strcmp(r->path, path) == 0) {
                found = r;
                if (strcmp(r->method, method) == 0) {
                    *method_ok = true;
                    return r;
                }
            }
    return found;
}

const struct xapi_class_hooks *const *xapi_hooks_of(const struct xapi *x, int cls)
{
    return &x->hooks[cls * (XAPI_HOOKS_PER_CLASS + 1)];
}
