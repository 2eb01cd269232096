/*
 * xapi.h - the xapi daemon's one context struct and the pieces that share
 * it: the front door (HTTP routes), the dispatcher, sessions.
 *
 * Everything mutable that threads share lives here, each part behind its
 * own documented lock; there are no other globals.
 */
#ifndef CX_XAPI_H
#define CX_XAPI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "hostdir.h"
#include "http_server.h"
#include "value.h"

struct db;
struct db_obj;
struct db_txn;
struct api_message;
struct xenops;

struct xapi {
    const char *state_dir;
    const char *run_dir;
    struct host_identity id;
    pthread_mutex_t id_lock; /* id.root_password changes (session.change_password) */
    size_t max_rpc_size;     /* largest XML-RPC/JSON-RPC body accepted */
    struct db *db;           /* has its own locks */
    struct http_server *http;
    atomic_ulong next_request; /* numbers requests for the logs */
    struct xenops *xenops;     /* vm.h: xenopsd's client and update follower */
};

/* One RPC call being served: what a method implementation gets. */
struct xapi_call {
    struct xapi *x;
    struct arena *a; /* everything of the call, freed after the reply */
    const struct api_message *m;
    struct val **args; /* checked and canonical; args[0] is the session if any */
    size_t n_args;
    const char *session; /* the caller's session ref, or NULL */
    const char *log_ctx; /* "req:N" */
};

typedef struct rpc_reply (*xapi_explicit_fn)(struct xapi_call *c);

/* A module's hand-written messages: a table sorted by wire name, ended
 * by {NULL, NULL}, listed in explicit.c. */
struct xapi_explicit {
    const char *wire_name;
    xapi_explicit_fn fn;
};
extern const struct xapi_explicit xapi_event_messages[];   /* event.c */
extern const struct xapi_explicit xapi_task_messages[];    /* task.c */
extern const struct xapi_explicit xapi_message_messages[]; /* message.c */
extern const struct xapi_explicit xapi_rbac_messages[];    /* rbac.c: subject, role */
extern const struct xapi_explicit xapi_host_messages[];    /* host.c: pool and host */
extern const struct xapi_explicit xapi_vm_messages[];      /* vm.c: VM lifecycle, VBD, VIF */

/* dispatch.c: runs a call; never fails to reply. */
struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx);
/* Commits t; on a disk failure the reply is INTERNAL_ERROR, else ok(result). */
struct rpc_reply xapi_commit(struct xapi_call *c, struct db_txn *t, struct val *result);
struct rpc_reply xapi_handle_invalid(struct xapi_call *c, int cls, const char *ref);

/* frontdoor.c: the HTTP handler for every listener. */
void xapi_frontdoor(struct http_req *req, void *ctx);

/* explicit.c: the hand-written message for a wire name, or NULL. */
xapi_explicit_fn xapi_explicit_find(const char *wire_name);
/* NULL when the table is sorted and names only explicit messages of the
 * schema; otherwise the first entry that is not. */
const char *xapi_explicit_verify(void);

/* implicit.c: the messages the schema implies (accessors, records,
 * get_all*, create, destroy). */
struct rpc_reply xapi_implicit(struct xapi_call *c);
/* The record of o, copied into a (hold the read lock). */
struct val *xapi_record(struct arena *a, const struct db_obj *o);

/* session.c */
/* Whether ref is a live session; fills its roles. Updates last_active. */
bool session_check(struct xapi *x, const char *ref, uint32_t *roles);
struct rpc_reply session_login_with_password(struct xapi_call *c);
struct rpc_reply session_logout(struct xapi_call *c);
struct rpc_reply session_get_all_subject_identifiers(struct xapi_call *c);
struct rpc_reply session_logout_subject_identifier(struct xapi_call *c);
struct rpc_reply session_change_password(struct xapi_call *c);

/* task.c: runs fn as the task of an Async. call and answers its ref at
 * once. */
struct rpc_reply xapi_async(struct xapi_call *c, xapi_explicit_fn fn);

/* firstboot.c: creates the pool and this host when the database lacks
 * them, and refreshes what describes this host at every start. */
int xapi_firstboot(struct xapi *x, char *err, size_t errlen);

/* vm_sync.c: at start, clears the operations a previous run left in
 * current_operations and starts following xenopsd (which need not be up
 * yet). vm_service_stop stops following; vm_service_free, once no task
 * runs, frees the client. */
void vm_service_start(struct xapi *x);
void vm_service_stop(struct xapi *x);
void vm_service_free(struct xapi *x);
/* vm_clone.c: called by the implicit create, destroy and setters of every
 * class, in their transaction, after the change (before it, for a
 * destroy): refuses to destroy a VM that is not halted or a plugged
 * device (-1 with *reply), destroys what belongs to a destroyed VM and
 * keeps allowed_operations right. */
int vm_implicit_hook(struct xapi_call *c, struct db_txn *t, struct db_obj *o,
                     struct rpc_reply *reply);

#endif
