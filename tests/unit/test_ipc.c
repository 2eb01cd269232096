/*
 * test_ipc.c - the internal JSON-RPC transport end to end over a real Unix
 * socket: calls, errors, unknown methods, concurrent clients, garbage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_client.h"
#include "ipc.h"

static struct rpc_reply m_echo(struct arena *a, const struct val *params, void *ctx)
{
    return rpc_reply_ok((struct val *)params);
}

static struct rpc_reply m_add(struct arena *a, const struct val *params, void *ctx)
{
    int64_t sum = 0;
    for (size_t i = 0; i < params->u.arr.n; i++) {
        if (params->u.arr.items[i]->type != VAL_INT)
            return rpc_reply_error(a, "FIELD_TYPE_ERROR", "params", NULL);
        sum += params->u.arr.items[i]->u.i;
    }
    (*(int *)ctx)++;
    return rpc_reply_ok(val_int(a, sum));
}

static const struct ipc_method methods[] = {
    {"echo", m_echo},
    {"add", m_add},
    {NULL, NULL},
};

struct fixture {
    char dir[64];
    char path[128];
    struct ipc_server *s;
    int calls;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/cx-ipc-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.sock", f->dir);
    const char *err = NULL;
    f->s = ipc_server_start(f->path, methods, &f->calls, 4096, &err);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ipc_server_stop(f->s);
    struct stat st;
    assert_int_not_equal(stat(f->path, &st), 0); /* the socket file is gone */
    rmdir(f->dir);
    free(f);
    return 0;
}

static void test_ipc_call_and_errors(void **state)
{
    struct fixture *f = *state;
    struct ipc_client *c = ipc_client_new(f->path, 5000);
    struct arena *a = arena_new();
    struct val *p = val_array(a);
    val_array_push(a, p, val_int(a, 40));
    val_array_push(a, p, val_int(a, 2));
    struct rpc_reply r;
    const char *err = NULL;
    assert_int_equal(ipc_call(c, a, "add", p, &r, &err), 0);
    assert_null(r.error);
    assert_int_equal(r.value->type, VAL_INT);
    assert_int_equal(r.value->u.i, 42);

    struct val *q = val_array(a);
    val_array_push(a, q, val_string(a, "x"));
    assert_int_equal(ipc_call(c, a, "add", q, &r, &err), 0);
    assert_non_null(r.error);
    assert_string_equal(val_str(r.error->u.arr.items[0]), "FIELD_TYPE_ERROR");

    struct val *st = val_struct(a);
    val_struct_add(a, st, "k", val_string(a, "v\xc3\xa9"));
    struct val *e = val_array(a);
    val_array_push(a, e, st);
    val_array_push(a, e, val_bool(a, true));
    assert_int_equal(ipc_call(c, a, "echo", e, &r, &err), 0);
    assert_null(r.error);
    assert_true(val_equal(r.value, e));

    assert_int_equal(ipc_call(c, a, "nope", NULL, &r, &err), 0);
    assert_non_null(r.error);
    assert_string_equal(val_str(r.error->u.arr.items[0]), "MESSAGE_METHOD_UNKNOWN");
    assert_string_equal(val_str(r.error->u.arr.items[1]), "nope");
    assert_int_equal(f->calls, 1);
    arena_free(a);
    ipc_client_free(c);
}

static void test_ipc_bad_requests(void **state)
{
    struct fixture *f = *state;
    struct http_client *h = http_client_new(NULL, f->path);
    struct http_response resp = {0};
    const char *err = NULL;
    static const char junk[] = "{\"method\": 5";
    assert_int_equal(
        http_client_post(h, "/", "application/json", junk, sizeof(junk) - 1, &resp, &err), 0);
    assert_int_equal(resp.status, 400);
    http_response_free(&resp);
    char *big = calloc(1, 10000);
    memset(big, ' ', 9999);
    assert_int_equal(http_client_post(h, "/", "application/json", big, 9999, &resp, &err), 0);
    assert_int_equal(resp.status, 413);
    http_response_free(&resp);
    free(big);
    assert_int_equal(http_client_get(h, "/", &resp, &err), 0);
    assert_int_equal(resp.status, 405);
    http_response_free(&resp);
    http_client_free(h);

    /* the server still answers */
    struct ipc_client *c = ipc_client_new(f->path, 5000);
    struct arena *a = arena_new();
    struct rpc_reply r;
    assert_int_equal(ipc_call(c, a, "add", NULL, &r, &err), 0);
    assert_int_equal(r.value->u.i, 0);
    arena_free(a);
    ipc_client_free(c);
}

static void *ipc_worker(void *arg)
{
    struct fixture *f = arg;
    struct ipc_client *c = ipc_client_new(f->path, 10000);
    long ok = 0;
    for (int i = 0; i < 200; i++) {
        struct arena *a = arena_new();
        struct val *p = val_array(a);
        val_array_push(a, p, val_int(a, i));
        val_array_push(a, p, val_int(a, 1));
        struct rpc_reply r;
        const char *err = NULL;
        if (ipc_call(c, a, "add", p, &r, &err) == 0 && !r.error && r.value->u.i == i + 1)
            ok++;
        arena_free(a);
    }
    ipc_client_free(c);
    return (void *)ok;
}

static void test_ipc_concurrent_clients(void **state)
{
    struct fixture *f = *state;
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, ipc_worker, f);
    long total = 0;
    for (int i = 0; i < 8; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        total += (long)ok;
    }
    assert_int_equal(total, 8 * 200);
}

static void test_ipc_unreachable(void **state)
{
    struct ipc_client *c = ipc_client_new("/nonexistent/dir/x.sock", 2000);
    struct arena *a = arena_new();
    struct rpc_reply r;
    const char *err = NULL;
    assert_int_equal(ipc_call(c, a, "add", NULL, &r, &err), -1);
    assert_non_null(err);
    arena_free(a);
    ipc_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ipc_call_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipc_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipc_concurrent_clients, setup, teardown),
        cmocka_unit_test(test_ipc_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
