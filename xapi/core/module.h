/*
 * module.h - how a concern plugs into xapi: one struct xapi_module each
 * (core's sessions, tasks, events; host; vm; tomorrow pool, storage,
 * network), listed once in xapi/modules.c.
 *
 * A module brings its hand-written messages, the rules its classes follow
 * when the implicit messages change them, its part of the start-up sync,
 * and the threads or clients it runs. The generic layers (dispatch, the
 * implicit messages, the start and stop of xapi) consult the modules and
 * know none of them by name, so adding a concern is a new folder and one
 * line in modules.c.
 */
#ifndef CX_XAPI_MODULE_H
#define CX_XAPI_MODULE_H

#include "core/xapi.h"

struct db_obj;
struct db_txn;

/* A hand-written message: the message (API_M_<class>_<message>) and its
 * implementation. A module's table ends with an entry whose fn is NULL. */
struct xapi_explicit {
    int msg;
    xapi_explicit_fn fn;
};

/* The rules of one class for the implicit create, setters (set_, add_to_,
 * remove_from_, add_tags, remove_tags) and destroy. Each runs inside the
 * message's transaction, after the change (before it, for a destroy), and
 * may change more objects; returning -1 with *reply refuses the message and
 * its whole transaction is undone. Any of them may be NULL. A module's
 * table ends with an entry whose cls is -1. */
struct xapi_class_hooks {
    int cls;
    int (*created)(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                   struct rpc_reply *reply);
    int (*changed)(struct xapi_call *c, struct db_txn *t, struct db_obj *o, api_field_id f,
                   struct rpc_reply *reply);
    int (*destroying)(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                      struct rpc_reply *reply);
};

/* What a module does at xapi's start, in the one transaction in which the
 * database is brought in step with this host (host/dbsync.c): creates the
 * objects it owns that are missing and refreshes what describes the
 * running machine. */
struct xapi_sync {
    struct xapi *x;
    struct db_txn *t;
    struct arena *a;
    int64_t now; /* time(NULL) at the start of the sync */
};

/* An HTTP handler a module serves beside the XenAPI's own (xe's POST
 * /cli; import and export, consoles and RRDs to come): the method
 * ("POST") and the exact path. The handler answers the request, or takes
 * its socket (http_server.h). A table ends with an entry whose path is
 * NULL. */
struct xapi_http_route {
    const char *method;
    const char *path;
    void (*fn)(struct xapi *x, struct http_req *req, const char *log_ctx);
    bool streams_body; /* an upload: the handler reads the body itself, from the start */
};

struct xapi_module {
    const char *name;
    const struct xapi_explicit *messages; /* or NULL */
    const struct xapi_class_hooks *hooks; /* or NULL */
    const struct xapi_http_route *routes; /* or NULL */
    /* In the order of xapi_modules[]; NULL when the module has none. */
    void (*sync)(struct xapi_sync *s);
    /* After the sync, before the API is served: its threads and clients.
     * Returns 0, or -1 (logged) when xapi cannot run without it. */
    int (*start)(struct xapi *x);
    /* Before the front door stops: makes calls that wait (long polls)
     * return, so that the connections' threads can end. */
    void (*quiesce)(struct xapi *x);
    /* In reverse order, once the API no longer serves: joins its threads.
     * Returns how many of them would not end (0: all did); then nothing
     * they use may be freed. */
    int (*stop)(struct xapi *x);
    /* Once nothing runs: frees what start made. */
    void (*free)(struct xapi *x);
};

/* xapi/modules.c: every module, NULL-terminated. */
extern const struct xapi_module *const xapi_modules[];

/* At most this many modules may hook one class. */
#define XAPI_HOOKS_PER_CLASS 4

/* The index of x's modules (x->settings.modules, or xapi_modules when
 * NULL): each message's hand-written function and each class's hooks. Returns 0, or -1 naming (in
 * *why) the entry that is not an explicit message of the schema, is listed twice, or is one hook
 * too many. */
int xapi_modules_index(struct xapi *x, const char **why);
void xapi_modules_unindex(struct xapi *x);
/* The hand-written function of message m, or NULL. */
xapi_explicit_fn xapi_explicit_of(const struct xapi *x, const struct api_message *m);
/* The modules' handler for path, or NULL; *method_ok tells whether it
 * takes method. */
const struct xapi_http_route *xapi_http_route_of(const struct xapi *x, const char *method,
                                                 const char *path, bool *method_ok);
/* The hooks of class cls: up to XAPI_HOOKS_PER_CLASS, NULL after the last. */
const struct xapi_class_hooks *const *xapi_hooks_of(const struct xapi *x, int cls);

#endif
