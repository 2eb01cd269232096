/*
 * xmlrpc_harness.h - what the XML-RPC codec tests share: parsing that
 * asserts success or a clean failure (every input from an exact heap copy,
 * so ASan catches any over-read), the writers' text in an arena, and
 * pieces of XML-RPC text to build inputs from.
 */
#ifndef CX_TEST_XMLRPC_HARNESS_H
#define CX_TEST_XMLRPC_HARNESS_H

#include <stddef.h>

#include "xmlrpc.h"

/* What to parse text as. */
enum xr_kind { XR_VALUE, XR_CALL, XR_REPLY };

/* Pieces of XML-RPC text: a struct member, a param holding a struct, a
 * methodResponse with params, a fault holding a struct, and a
 * methodResponse with a fault. */
#define XR_MEMBER(name, value) "<member><name>" name "</name><value>" value "</value></member>"
#define XR_PARAM(members) "<param><value><struct>" members "</struct></value></param>"
#define XR_RESPONSE(params) "<methodResponse><params>" params "</params></methodResponse>"
#define XR_FAULT(members) "<fault><value><struct>" members "</struct></value></fault>"
#define XR_FAULT_RESPONSE(members) "<methodResponse>" XR_FAULT(members) "</methodResponse>"

/* Every error message is one line of printable ASCII with the codec's prefix. */
void assert_error_text(const char *err);

/* Parses len bytes of text (or all of it) as kind and expects failure:
 * returns the message. */
const char *xr_fail_len(struct arena *a, enum xr_kind kind, const char *text, size_t len);
const char *xr_fail(struct arena *a, enum xr_kind kind, const char *text);
#define value_fail_len(a, text, len) xr_fail_len((a), XR_VALUE, (text), (len))
#define call_fail_len(a, text, len) xr_fail_len((a), XR_CALL, (text), (len))
#define reply_fail_len(a, text, len) xr_fail_len((a), XR_REPLY, (text), (len))
#define value_fail(a, text) xr_fail((a), XR_VALUE, (text))
#define call_fail(a, text) xr_fail((a), XR_CALL, (text))
#define reply_fail(a, text) xr_fail((a), XR_REPLY, (text))

/* Every one of the n texts in bad fails as kind. */
void xr_fail_all(struct arena *a, enum xr_kind kind, const char *const *bad, size_t n);
#define XR_FAIL_ALL(a, kind, bad) xr_fail_all((a), (kind), (bad), sizeof(bad) / sizeof((bad)[0]))

/* Parses text, which must succeed. */
struct val *value_ok(struct arena *a, const char *text);
/* A call as XML-RPC has it: params an array, no id. */
struct rpc_call call_ok(struct arena *a, const char *text);
/* A reply with exactly one of value and error. */
struct rpc_reply reply_ok(struct arena *a, const char *text);

/* The writers' text, in the arena. */
const char *write_text(struct arena *a, const struct val *v);
const char *write_reply_text(struct arena *a, const struct rpc_reply *r);
const char *write_call_text(struct arena *a, const char *method, const struct val *params);

/* Parses text, writes it back and expects the same text. */
void assert_roundtrip_text(const char *text);
void assert_string_val(const struct val *v, const char *want);

#endif
