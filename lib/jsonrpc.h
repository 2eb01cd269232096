/*
 * jsonrpc.h - the XenAPI's JSON-RPC envelope, versions 1.0 and 2.0.
 *
 * A request is an object with method (string), params (array) and id
 * (string or integer, never null or absent: the XenAPI takes no
 * notifications); version 2.0 adds "jsonrpc":"2.0". The reply echoes the
 * request's version and id: 1.0 carries result and error (one of them null,
 * error an array of strings), 2.0 carries result, or error as
 * {"code":1,"message":CODE,"data":[params]}.
 */
#ifndef CX_JSONRPC_H
#define CX_JSONRPC_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "value.h"

/* Parses a request; call->jsonrpc_version is 1 or 2. Returns 0, or -1
 * with *err set when the body is not a well-formed request. */
int jsonrpc_parse_call(struct arena *a, const char *body, size_t len, struct rpc_call *call,
                       const char **err);

/* Writes the reply to call (its version and id). */
void jsonrpc_write_reply(struct buf *out, const struct rpc_call *call,
                         const struct rpc_reply *reply);
/* The same through a writer that may stream it (valout.h): when a
 * producer fails before anything was sent, the reply becomes its error. */
void jsonrpc_out_reply(struct val_out *o, const struct rpc_call *call,
                       const struct rpc_reply *reply);

/* Client side: writes a request with an integer id. */
void jsonrpc_write_call(struct buf *out, int version, const char *method, const struct val *params,
                        int64_t id);

/* Client side: parses a 1.0 or 2.0 reply into *reply (the error as
 * [code, params...]); *id, if non-NULL, receives the reply's id. */
int jsonrpc_parse_reply(struct arena *a, const char *body, size_t len, struct rpc_reply *reply,
                        struct val **id, const char **err);

#endif
