/*
 * xapi.h - the xapi daemon's one context (struct xapi), one call being
 * served (struct xapi_call), and what every concern calls in core and api.
 *
 * Everything mutable that threads share hangs off struct xapi, each part
 * behind its own lock; there are no other globals (the logger, process
 * wide by design, is lib's). Two xapis can run in one process.
 *
 * The threads: the front door's connection threads (lib/http_server.h)
 * run calls; the task pool's threads (task.c) run Async. calls; the task
 * garbage collector (task.c) and the xenopsd follower (vm/vm_sync.c) run
 * for as long as xapi does. xapi_stop joins every one of them.
 *
 * The locks, outermost first. A thread holding one may take only those
 * below it; the leaves are never held together with another xapi lock.
 *
 *   db lock        db/db.c     rwlock: readers look, one writer from
 *                              db_begin to db_commit/db_abort
 *   tasks->lock    task.c      running tasks and their cancel flags;
 *                              taken inside a transaction (task.cancel)
 *   events->lock   event.c     event.next's registrations; taken under
 *                              the read lock
 *   db sync_lock   db/db.c     the generations, the commit queue and
 *                              their waiters; taken by a commit under the
 *                              write lock (db_commit.c)
 *   leaves: id_lock (the root password), tasks->gc_lock, xenops->lock
 *   (idle connections), vm->nap_lock, the task pool's and the HTTP
 *   server's own (lib/), the logger's.
 *
 * No lock is held across a call to xenopsd or a wait for the network.
 */
#ifndef CX_XAPI_H
#define CX_XAPI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "arena.h"
#include "hostdir.h"
#include "passwd.h"
#include "http_server.h"
#include "value.h"

struct db;
struct db_obj;
struct db_txn;
struct api_message;
struct xenops;
struct vm_service;
struct cli_conns;
struct tasks;
struct task_run;
struct events;
struct xapi_call;
struct xapi_class_hooks;
struct xapi_module;

/* A hand-written message's implementation. */
typedef struct rpc_reply (*xapi_explicit_fn)(struct xapi_call *c);

/* This host's role in its pool. Pools of several hosts arrive with pool/
 * (which will keep the role on disk); until then every host is the
 * master of a pool of its own. */
struct xapi_role {
    bool master;
    char master_address[256]; /* a slave's master, as HOST_IS_SLAVE names it */
};

/* What one xapi is told at its start (main.c reads them from the
 * daemon's config). */
/* What this host says it is (host.software_version), as upstream reads it
 * from its inventory; NULL fields take the defaults of host/dbsync.c. */
struct xapi_product {
    const char *brand, *version, *version_text, *platform_name, *platform_version, *build_number;
};

struct xapi_settings {
    const char *state_dir; /* the host's state directory */
    const char *run_dir;   /* its sockets; NULL: STATE/run */
    const char *address;   /* the TCP listener's address; NULL: every address */
    /* the address other hosts and clients reach this host at (host.address,
     * what HOST_IS_SLAVE will name); NULL: 127.0.0.1, a host on its own */
    const char *management_address;
    int port;            /* 0: any free port (see http_server_port) */
    size_t max_rpc_size; /* largest XML-RPC/JSON-RPC body accepted */
    int header_timeout_ms, idle_timeout_ms, io_timeout_ms, max_connections, max_per_address;
    int max_sessions;         /* live sessions on the host; 0: SESSION_MAX_DEFAULT */
    int failed_login_alert_s; /* how often failed logins are reported; 0: an hour */
    struct xapi_product product;
    /* The modules, NULL-terminated; NULL: xapi_modules (module.h). Tests
     * add modules of their own. */
    const struct xapi_module *const *modules;
};

struct xapi {
    struct xapi_settings settings; /* its strings are x's own copies */
    const char *state_dir;         /* settings.state_dir */
    const char *run_dir;           /* settings.run_dir, or STATE/run */
    struct host_identity id;
    pthread_mutex_t id_lock;      /* id.root_password_hash changes (session.change_password) */
    struct passwd_cache pw_cache; /* under id_lock: the last root password found right */
    struct db *db;                /* has its own locks */
    struct http_server *http;
    atomic_ulong next_request;     /* numbers requests for the logs */
    struct xapi_role role;         /* where this host stands in its pool */
    atomic_bool quiescing;         /* xapi_stop began: what waits for a change ends */
    struct tasks *tasks;           /* core/task.c: Async. calls and their threads */
    struct events *events;         /* core/event.c: event.next's registrations */
    struct throttle *logins;       /* core/throttle.h: who failed to log in */
    struct loginfail *failed;      /* core/loginfail.h: and for the report */
    struct session_alerts *alerts; /* session.c: the report's thread */
    struct session_ext *ext;       /* session.c: external sessions' roles */
    struct xenops *xenops;         /* core/xenops.h: xenopsd's client */
    struct vm_service *vm;         /* vm/vm.h: following xenopsd */
    struct cli_conns *cli;         /* cli/cli_server.c: xe's conversations */
    /* The modules' messages by message index and hooks by class (module.h);
     * written once at start, read-only after. */
    xapi_explicit_fn *handlers;
    const struct xapi_class_hooks **hooks;
    size_t n_started; /* modules started, in the order of xapi_modules */
    bool stuck;       /* a thread would not stop: nothing may be freed */
};

/* --- lifecycle (xapi/lifecycle.c) --- */

/* A xapi for the host in s->state_dir (which hostdir_init made). */
struct xapi *xapi_new(const struct xapi_settings *s);
/* Opens the database, brings it in step with this host, starts every
 * module and serves the API. Returns 0, or -1 (logged, and whatever had
 * started stopped again): then xapi_free. */
int xapi_start(struct xapi *x);
/* Stops serving and joins every thread. Returns how many threads would not
 * end (0: all did); when not 0, xapi_free frees nothing, as they may still
 * use it, and the process should just exit. */
int xapi_stop(struct xapi *x);
void xapi_free(struct xapi *x);

/* One RPC call being served: what a method implementation gets. */
struct xapi_call {
    struct xapi *x;
    struct arena *a; /* everything of the call, freed after the reply */
    const struct api_message *m;
    struct val **args; /* checked and canonical; args[0] is the session if any */
    size_t n_args;
    const char *session;   /* the caller's session ref, or NULL */
    const char *log_ctx;   /* "req:N", or "task:REF" */
    struct task_run *task; /* the task the call runs as (task.h), or NULL */
    /* Where the call came from; NULL for a call of xapi's own (a task's
     * body, the tests'). */
    const struct xapi_client *client;
    /* The roles of the caller's session (every bit for the local
     * superuser and for xapi's own calls): what it may see. */
    api_roles_t roles;
};

/* The connection a call came on. */
struct xapi_client {
    int fd;                 /* its socket, to notice a hang-up (http_req_watch_fd) */
    const char *peer;       /* "ADDRESS:PORT", "[ADDRESS]:PORT" or "unix" */
    bool local;             /* on xapi.sock: root on this host */
    const char *user_agent; /* its User-Agent header, or NULL */
    bool proven;            /* set by xapi_dispatch: the call carried a valid session */
};

/* The arguments of a call, named by the parameter ids of api_ids.h
 * (API_P_VM_start_vm). The id must be of the call's message and the typed
 * forms of a parameter of that type (both asserted). A trailing parameter
 * the client left out (see api_message.min_params) reads as NULL, "", 0,
 * false. */
const struct val *xapi_arg(const struct xapi_call *c, api_param_id p);
const char *xapi_arg_str(const struct xapi_call *c, api_param_id p);
int64_t xapi_arg_int(const struct xapi_call *c, api_param_id p);
bool xapi_arg_bool(const struct xapi_call *c, api_param_id p);
double xapi_arg_float(const struct xapi_call *c, api_param_id p);

/* dispatch.c: runs a call; never fails to reply. Sets client->proven
 * when the call carried a valid session. */
struct rpc_reply xapi_dispatch(struct xapi *x, struct arena *a, const struct rpc_call *call,
                               const char *log_ctx, struct xapi_client *client);
/* implicit.c: whether the caller may see object ref of class cls. The
 * local superuser, and a session whose roles may end other users'
 * sessions (pool-operator and up), see everything; another session sees
 * of sessions only its own. */
bool xapi_may_see(const struct xapi_call *c, int cls, const char *ref);
/* Whether the caller's roles may read class cls (its get_record): what
 * events tell it about. */
bool xapi_may_read_class(const struct xapi_call *c, int cls);
/* route.c: the dispatch policy stage: 0 when c runs here, else -1 with
 * *reply (HOST_IS_SLAVE on a slave, HOST_OFFLINE for a host that is not
 * live). */
int xapi_route(struct xapi_call *c, struct rpc_reply *reply);
/* Commits t; on a disk failure the reply is INTERNAL_ERROR, else ok(result). */
struct rpc_reply xapi_commit(struct xapi_call *c, struct db_txn *t, struct val *result);
struct rpc_reply xapi_handle_invalid(struct xapi_call *c, int cls, const char *ref);

/* frontdoor.c: the HTTP handler for every listener, and which requests'
 * bodies it streams (http_server_opts.streams_body). */
void xapi_frontdoor(struct http_req *req, void *ctx);
bool xapi_streams_body(void *ctx, const char *method, const char *path);

/* implicit.c: the messages the schema implies (accessors, records,
 * get_all*, create, destroy). */
struct rpc_reply xapi_implicit(struct xapi_call *c);
/* The record of o, copied into a (hold the read lock). */
struct val *xapi_record(struct arena *a, const struct db_obj *o);

/* api/stream.c: replies written from the database as they go out. */
/* Where the writing of a record stands. */
struct xapi_record_pos {
    int field;      /* the next field; -1 before the record is begun */
    bool in_string; /* inside a long string field, written in pieces */
    size_t offset;  /* how much of it is written */
    uint64_t gen;   /* the object's gen_modified when the record was begun */
};
/* Writes o's record from pos (start with field -1) under the read lock:
 * true once it is complete; false when the writer filled up inside a long
 * string field (then let the lock go, flush, and call again with the
 * object looked up afresh, if its gen_modified is still pos->gen). */
bool xapi_record_out(struct val_out *w, const struct db_obj *o, struct xapi_record_pos *pos);
/* A reply value: the record of ref. An object deleted before it is
 * written makes the reply HANDLE_INVALID. */
struct val *xapi_record_stream(struct xapi_call *c, int cls, const char *ref);
/* A reply value: the map ref -> record of the objects of cls listed (refs
 * in c's arena), leaving out those deleted before they are written. */
struct val *xapi_records_stream(struct xapi_call *c, int cls, const char **refs, size_t n);
/* A reply value: the refs as an array. */
struct val *xapi_refs_stream(struct xapi_call *c, const char **refs, size_t n);

/* session.c: whether ref is a live session; fills its roles. Updates
 * last_active. */
bool session_check(struct xapi *x, const char *ref, api_roles_t *roles);
/* session.c: a new session for root without a password, for a caller
 * that is root on this host already (the CLI on xapi.sock). Its ref in
 * a, or NULL. */
const char *session_open_local(struct xapi *x, struct arena *a, const char *originator,
                               const char *log_ctx);

/* rbac.c: the roles a subject holds (hold the read lock). */
api_roles_t rbac_roles_of(struct db *db, const struct db_obj *subject);
/* roles.c: the rbac module's part of the start-up sync: each role of the
 * datamodel, made or brought up to date. */
struct xapi_sync;
void rbac_roles_sync(struct xapi_sync *s);

/* message.c: a message xapi raises itself (not a client's
 * message.create) about the object of class cls with obj_uuid. 0, or -1
 * (logged). */
int message_raise(struct xapi *x, const char *name, int64_t priority, int cls, const char *obj_uuid,
                  const char *body);

/* task.c: runs fn as the task of an Async. call and answers its ref at
 * once. */
struct rpc_reply xapi_async(struct xapi_call *c, xapi_explicit_fn fn);

/* The modules of core/ (module.h). */
extern const struct xapi_module session_module, task_module, event_module, message_module,
    rbac_module, xenops_module, blob_module;

#endif
