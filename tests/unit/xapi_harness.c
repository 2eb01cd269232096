/*
 * xapi_harness.c - a whole xapi for a unit test; see xapi_harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapi_harness.h"
#include "buf.h"
#include "json.h"

void harness_host_init(char *dir, size_t len, const char *templ, const char *password)
{
    snprintf(dir, len, "%s", templ);
    assert_non_null(mkdtemp(dir));
    struct arena *a = arena_new();
    struct host_identity id;
    bool created;
    const char *err;
    assert_int_equal(hostdir_init(a, dir, password, &id, &created, &err), 0);
    arena_free(a);
}

struct xapi *harness_xapi_start(const char *dir, const char *run_dir,
                                const struct xapi_module *const *modules, const char *password,
                                char session[IDS_REF_LEN + 1])
{
    struct xapi_settings s = {.state_dir = dir,
                              .run_dir = run_dir,
                              .address = "127.0.0.1",
                              .max_rpc_size = 1 << 20,
                              .header_timeout_ms = 10000,
                              .idle_timeout_ms = 10000,
                              .io_timeout_ms = 10000,
                              .max_connections = 16,
                              .modules = modules};
    struct xapi *x = xapi_new(&s);
    assert_int_equal(xapi_start(x), 0);
    struct arena *a = arena_new();
    struct rpc_call c = {.method = "session.login_with_password", .params = val_array(a)};
    val_array_push(a, c.params, val_string(a, "root"));
    val_array_push(a, c.params, val_string(a, password));
    struct rpc_reply r = xapi_dispatch(x, a, &c, "test", NULL);
    assert_null(r.error);
    snprintf(session, IDS_REF_LEN + 1, "%s", val_str(r.value));
    arena_free(a);
    return x;
}

void harness_xapi_stop(struct xapi *x)
{
    assert_int_equal(xapi_stop(x), 0);
    xapi_free(x);
}

void harness_host_remove(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

struct val *harness_value(struct arena *a, struct val *v)
{
    if (!v || (v->type != VAL_STREAM && !v->has_stream))
        return v;
    struct buf text = BUF_INIT;
    json_write(&text, v);
    struct val *out;
    const char *err;
    if (json_parse(a, text.data, text.len, &out, &err) < 0)
        fail_msg("a streamed value is not JSON: %s", err);
    buf_free(&text);
    return out;
}
