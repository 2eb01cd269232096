/*
 * xmlrpc.h - the XenAPI's XML-RPC wire codec (expat underneath).
 *
 * Encodes as the XenAPI wire protocol specifies: strings as untyped
 * <value>text</value>, VAL_INT as a decimal <string> (XenAPI ints are 64-bit
 * and travel as strings), <double>, <boolean>0|1</boolean>,
 * <dateTime.iso8601>, <array><data>, <struct><member>. VAL_NIL is written
 * as the empty string (the XenAPI's void). Replies are wrapped in the
 * Status/Value/ErrorDescription envelope.
 *
 * Decoding accepts what real clients send: untyped values and <string> as
 * strings, <i4>/<int>/<i8> as VAL_INT (64-bit range), <double>, <boolean>
 * (0/1), <dateTime.iso8601>, <base64> (kept as its text), <nil/>, arrays
 * and structs nested up to VAL_MAX_DEPTH. Anything else (malformed XML, bad
 * UTF-8, unknown tags, numbers out of range, trailing junk, a DOCTYPE) is
 * rejected with a one-line reason in *err (arena-allocated).
 */
#ifndef CX_XMLRPC_H
#define CX_XMLRPC_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "value.h"

/* Parses a <methodCall>; fills call->method and call->params (an array).
 * Returns 0, or -1 with *err set. */
int xmlrpc_parse_call(struct arena *a, const char *body, size_t len, struct rpc_call *call,
                      const char **err);

/* Parses a <methodResponse> holding a XenAPI envelope into *reply.
 * A <fault> becomes the error [ "XMLRPC_FAULT", faultCode, faultString ].
 * Returns 0, or -1 with *err set. */
int xmlrpc_parse_reply(struct arena *a, const char *body, size_t len, struct rpc_reply *reply,
                       const char **err);

/* Parses a bare <value> element (used by tests and by the fuzz target). */
int xmlrpc_parse_value(struct arena *a, const char *text, size_t len, struct val **out,
                       const char **err);

void xmlrpc_write_call(struct buf *out, const char *method, const struct val *params);
void xmlrpc_write_reply(struct buf *out, const struct rpc_reply *reply);
void xmlrpc_write_value(struct buf *out, const struct val *v);
/* Text escaped for XML character data. */
void xmlrpc_write_escaped(struct buf *out, const char *s, size_t len);
/* The reply through a writer that may stream it (valout.h): when a
 * producer fails before anything was sent, the reply becomes its error. */
void xmlrpc_out_reply(struct val_out *o, const struct rpc_reply *reply);

#endif
