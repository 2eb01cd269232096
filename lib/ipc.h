/*
 * ipc.h - the daemons' internal interfaces: JSON-RPC 2.0 requests POSTed
 * over HTTP/1.1 to a Unix-domain socket in the host's run dir
 * (xenopsd.sock, xcp-rrdd.sock, ...). The same codec and HTTP stack as the
 * XenAPI front door, so one set of tests and fuzz targets covers both, and
 * curl --unix-socket is a debugging client.
 *
 * A method answers with a value or a XenAPI-style error (code + string
 * params), exactly like a XenAPI call; unknown methods get
 * MESSAGE_METHOD_UNKNOWN, malformed requests an HTTP 400.
 */
#ifndef CX_IPC_H
#define CX_IPC_H

#include <stddef.h>

#include "arena.h"
#include "value.h"

/* A method gets its params (a VAL_ARRAY) and allocates its result in a,
 * which lives until the reply is written. Called on the connection's
 * thread; methods run concurrently. */
typedef struct rpc_reply (*ipc_method_fn)(struct arena *a, const struct val *params, void *ctx);

struct ipc_method {
    const char *name;
    ipc_method_fn fn;
};

struct ipc_server;

/* Serves methods (terminated by a {NULL, NULL} entry; the table must
 * outlive the server) on the socket path. max_body 0 = 16 MiB. Returns the
 * server, or NULL with *err. */
struct ipc_server *ipc_server_start(const char *path, const struct ipc_method *methods, void *ctx,
                                    size_t max_body, const char **err);
/* Stops accepting, waits for calls in progress, removes the socket file. */
void ipc_server_stop(struct ipc_server *s);

struct ipc_client;

/* A client of the daemon at path; it reconnects as needed and belongs to
 * one thread at a time. timeout_ms 0 = 60 s. */
struct ipc_client *ipc_client_new(const char *path, long timeout_ms);
void ipc_client_free(struct ipc_client *c);
/* Calls method with params (a VAL_ARRAY or NULL for none). Returns 0 when
 * the daemon answered (*reply holds a value or an error, allocated in a),
 * -1 with *err when it could not be reached or answered garbage. */
int ipc_call(struct ipc_client *c, struct arena *a, const char *method, const struct val *params,
             struct rpc_reply *reply, const char **err);

#endif
