/*
 * test_stream.c - replies written from the database as they go out
 * (xapi/api/stream.c, lib/valout.c) against the whole-reply encoding they
 * replaced: for every class in the database, get_all_records, get_all
 * and get_record streamed in small chunks are the same bytes as the
 * records copied into a value tree and encoded in one piece, in XML-RPC
 * and in JSON-RPC 1.0 and 2.0. The database holds an object of every
 * class, with text that needs escaping on both wires and a task result
 * longer than a chunk, which is written in pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "db/db.h"
#include "core/xapi.h"
#include "jsonrpc.h"
#include "valout.h"
#include "xapi_harness.h"
#include "xmlrpc.h"

#define CHUNK 1000 /* small, so that every reply here is streamed */

struct fixture {
    char dir[64];
    struct xapi *x;
    char session[IDS_REF_LEN + 1];
};

/* One object of every class in the database, and odd text. */
static void fill(struct fixture *fx)
{
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(fx->x->db);
    for (int c = 0; c < api_n_classes; c++) {
        if (!api_classes[c].in_db)
            continue;
        struct db_values v = db_values_new(a, c);
        if (api_classes[c].name_label_field >= 0)
            db_values_set(&v, API_FIELD_ID(c, api_classes[c].name_label_field),
                          val_string(a, "<a & \"b\">\r\n\t\\ \x01 \xc3\xa9"));
        db_txn_create(t, c, &v, NULL);
    }
    /* A task result longer than a chunk, written in pieces. */
    struct buf big = BUF_INIT;
    while (big.len < 300 * 1024)
        buf_puts(&big, "<value>&amp; \"quoted\" \\ </value>\n");
    struct db_values v = db_values_new(a, API_C_task);
    db_values_set(&v, API_F_task_result, val_string_len(a, big.data, big.len));
    db_txn_create(t, API_C_task, &v, NULL);
    buf_free(&big);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    arena_free(a);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    harness_host_init(fx->dir, sizeof(fx->dir), "/tmp/cx-stream-XXXXXX", "secret");
    fx->x = harness_xapi_start(fx->dir, NULL, NULL, "secret", fx->session);
    fill(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    harness_xapi_stop(fx->x);
    harness_host_remove(fx->dir);
    free(fx);
    return 0;
}

/* What a streamed reply sends, collected; and how often it sent. */
struct wire {
    struct buf bytes;
    int sends;
};

static int wire_send(void *ctx, const char *data, size_t len)
{
    struct wire *w = ctx;
    buf_append(&w->bytes, data, len);
    w->sends++;
    return 0;
}

/* The reply as frontdoor.c writes it: streamed in chunks of CHUNK. */
static void streamed(struct rpc_reply *r, int version, struct wire *w)
{
    struct buf out = BUF_INIT;
    struct val_out o;
    val_out_init(&o, version ? VAL_WIRE_JSON : VAL_WIRE_XMLRPC, &out);
    o.chunk = CHUNK;
    o.send = wire_send;
    o.ctx = w;
    struct rpc_call call = {.jsonrpc_version = version};
    if (version)
        jsonrpc_out_reply(&o, &call, r);
    else
        xmlrpc_out_reply(&o, r);
    assert_false(o.failed);
    assert_int_equal(val_out_finish(&o), 0);
    buf_free(&out);
}

/* The reply as it was encoded before streams: a whole value tree. */
static void whole(struct val *value, int version, struct buf *out)
{
    struct rpc_reply r = {.value = value};
    struct rpc_call call = {.jsonrpc_version = version};
    if (version)
        jsonrpc_write_reply(out, &call, &r);
    else
        xmlrpc_write_reply(out, &r);
}

static struct rpc_reply call(struct fixture *fx, struct arena *a, const char *method,
                             const char *arg)
{
    struct rpc_call c = {.method = method, .params = val_array(a)};
    val_array_push(a, c.params, val_string(a, fx->session));
    if (arg)
        val_array_push(a, c.params, val_string(a, arg));
    return xapi_dispatch(fx->x, a, &c, "test", NULL);
}

/* The former encoding of a class's records, refs and one record. */
static struct val *expected(struct fixture *fx, struct arena *a, int cls, const char *what)
{
    struct db *db = fx->x->db;
    db_read_lock(db);
    struct val *v = strcmp(what, "get_all") == 0 ? val_array(a) : val_struct(a);
    for (struct db_obj *o = db_first(db, cls); o; o = db_next(db, o)) {
        if (strcmp(what, "get_all") == 0)
            val_array_push(a, v, val_string(a, o->ref));
        else if (strcmp(what, "get_record") == 0)
            v = xapi_record(a, o);
        else
            val_struct_add(a, v, o->ref, xapi_record(a, o));
        if (strcmp(what, "get_record") == 0)
            break;
    }
    db_read_unlock(db);
    return v;
}

static void compare(struct fixture *fx, int cls, const char *what, int *streams)
{
    struct arena *a = arena_new();
    char method[128];
    snprintf(method, sizeof(method), "%s.%s", api_classes[cls].name, what);
    const char *self = NULL;
    if (strcmp(what, "get_record") == 0) {
        db_read_lock(fx->x->db);
        struct db_obj *o = db_first(fx->x->db, cls);
        self = o ? arena_strdup(a, o->ref) : NULL;
        db_read_unlock(fx->x->db);
    }
    struct rpc_reply r = call(fx, a, method, self);
    if (!r.error) {
        for (int version = 0; version <= 2; version++) {
            struct wire w = {BUF_INIT, 0};
            struct buf want = BUF_INIT;
            streamed(&r, version, &w);
            whole(expected(fx, a, cls, what), version, &want);
            if (w.bytes.len != want.len || memcmp(w.bytes.data, want.data, want.len) != 0)
                fail_msg("%s (wire %d): streamed and whole replies differ", method, version);
            *streams += w.sends > 1;
            buf_free(&w.bytes);
            buf_free(&want);
        }
    }
    arena_free(a);
}

static void test_streamed_equals_whole(void **state)
{
    struct fixture *fx = *state;
    int classes = 0, streams = 0;
    for (int c = 0; c < api_n_classes; c++) {
        if (!api_classes[c].in_db)
            continue;
        compare(fx, c, "get_all_records", &streams);
        compare(fx, c, "get_all", &streams);
        compare(fx, c, "get_record", &streams);
        classes++;
    }
    assert_true(classes > 40);
    assert_true(streams > classes); /* most went out in more than one chunk */
}

/* A record deleted between the call and the writing of its reply makes
 * HANDLE_INVALID, as a call a moment later would have answered. */
static void test_deleted_before_written(void **state)
{
    struct fixture *fx = *state;
    struct arena *a = arena_new();
    struct db *db = fx->x->db;
    struct db_txn *t = db_begin(db);
    struct db_obj *o = db_txn_create(t, API_C_VM, NULL, NULL);
    char ref[IDS_REF_LEN + 1];
    strcpy(ref, o->ref);
    const char *err;
    assert_int_equal(db_commit(t, &err), 0);
    struct rpc_reply r = call(fx, a, "VM.get_record", ref);
    assert_null(r.error);
    t = db_begin(db);
    db_txn_destroy(t, db_get(db, API_C_VM, ref));
    assert_int_equal(db_commit(t, &err), 0);
    struct buf out = BUF_INIT;
    xmlrpc_write_reply(&out, &r);
    assert_non_null(strstr(out.data, "<value>Failure</value>"));
    assert_non_null(strstr(out.data, "HANDLE_INVALID"));
    assert_non_null(strstr(out.data, ref));
    buf_free(&out);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_streamed_equals_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_before_written, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
