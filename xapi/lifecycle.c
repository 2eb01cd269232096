/*
 * lifecycle.c - one xapi from its start to its stop; see "lifecycle" in
 * core/xapi.h.
 *
 * The start: the host's identity, the database, the modules' index, the
 * start-up sync (every module's part, in one transaction), each module's
 * threads, then the front door. The stop, in reverse: calls that wait are
 * told to return, the front door stops (joining its connections'
 * threads), each module joins its threads, and only if every thread ended
 * is anything freed. Nothing is global, so two xapis can run in one
 * process (the unit tests do).
 */
#include "core/xapi.h"
#include "core/module.h"
#include "db/db.h"
#include "pool/role.h"
#include "buf.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xapi *xapi_new(const struct xapi_settings *s)
{
    struct xapi *x = xcalloc(1, sizeof(*x));
    x->settings = *s;
    x->state_dir = xstrdup(s->state_dir);
    struct buf run = BUF_INIT;
    buf_printf(&run, "%s/run", s->state_dir);
    x->run_dir = xstrdup(s->run_dir ? s->run_dir : run.data);
    buf_free(&run);
    x->settings.state_dir = x->state_dir;
    x->settings.run_dir = x->run_dir;
    x->settings.address = s->address ? xstrdup(s->address) : NULL;
    x->settings.management_address = s->management_address ? xstrdup(s->management_address) : NULL;
    const char **product[] = {&x->settings.product.brand,
                              &x->settings.product.version,
                              &x->settings.product.version_text,
                              &x->settings.product.platform_name,
                              &x->settings.product.platform_version,
                              &x->settings.product.build_number};
    for (size_t i = 0; i < sizeof(product) / sizeof(product[0]); i++)
        *product[i] = *product[i] ? xstrdup(*product[i]) : NULL;
    if (!s->modules)
        x->settings.modules = xapi_modules;
    pthread_mutex_init(&x->id_lock, NULL);
    /* A host is the master of a pool of its own until STATE/pool.conf
     * says otherwise (read at the start: pool/role.h). */
    x->role.master = true;
    return x;
}

/* Every module's part of the start-up sync, in one transaction. */
static int xapi_sync(struct xapi *x)
{
    struct arena *a = arena_new();
    struct xapi_sync s = {x, db_begin(x->db), a, (int64_t)time(NULL)};
    for (const struct xapi_module *const *m = x->settings.modules; *m; m++)
        if ((*m)->sync)
            (*m)->sync(&s);
    const char *why;
    int rc = db_commit(s.t, &why);
    if (rc < 0)
        log_error(NULL, "cannot bring the database in step with this host: %s", why);
    arena_free(a);
    return rc;
}

static int xapi_listen(struct xapi *x)
{
    const struct xapi_settings *s = &x->settings;
    struct http_server_opts opts = {
        .handler = xapi_frontdoor,
        .streams_body = xapi_streams_body,
        .ctx = x,
        .header_timeout_ms = s->header_timeout_ms,
        .idle_timeout_ms = s->idle_timeout_ms,
        .io_timeout_ms = s->io_timeout_ms,
        .max_connections = s->max_connections,
        .max_per_address = s->max_per_address,
    };
    x->http = http_server_new(&opts);
    const char *err;
    if (http_server_listen_tcp(x->http, s->address, s->port, &err) < 0) {
        log_error(NULL, "cannot listen on %s port %d: %s", s->address ? s->address : "*", s->port,
                  err);
        return -1;
    }
    struct buf sock = BUF_INIT;
    buf_printf(&sock, "%s/xapi.sock", x->run_dir);
    int rc = http_server_listen_unix(x->http, sock.data, &err);
    if (rc < 0)
        log_error(NULL, "cannot listen on %s: %s", sock.data, err);
    buf_free(&sock);
    if (rc == 0 && http_server_start(x->http) < 0) {
        log_error(NULL, "cannot start serving");
        rc = -1;
    }
    return rc;
}

static int xapi_open(struct xapi *x)
{
    if (hostdir_mkdirs(x->run_dir, 0700) < 0) {
        log_error(NULL, "cannot create %s: %s", x->run_dir, strerror(errno));
        return -1;
    }
    struct arena *a = arena_new();
    const char *why;
    int rc = hostdir_load(a, x->state_dir, &x->id, &why);
    if (rc < 0)
        log_error(NULL, "cannot load the host identity: %s", why);
    if (rc == 0 && (rc = pool_role_load(a, x->state_dir, &x->role, &why)) < 0)
        log_error(NULL, "cannot read the host's role in its pool: %s", why);
    if (rc == 0 && !x->role.master)
        log_info(NULL, "a slave of %s", x->role.master_address);
    if (rc == 0) {
        x->db = db_open(a, arena_printf(a, "%s/xapi.db", x->state_dir), &why);
        if (!x->db) {
            log_error(NULL, "cannot open the database: %s", why);
            rc = -1;
        }
    }
    if (rc == 0 && xapi_modules_index(x, &why) < 0) {
        log_error(NULL,
                  "a module's table names %s wrongly (not an explicit message of the "
                  "schema, listed twice, or one hook too many)",
                  why);
        rc = -1;
    }
    arena_free(a);
    return rc;
}

int xapi_start(struct xapi *x)
{
    if (xapi_open(x) < 0 || xapi_sync(x) < 0) {
        xapi_stop(x);
        return -1;
    }
    for (const struct xapi_module *const *m = x->settings.modules; *m; m++, x->n_started++) {
        if ((*m)->start && (*m)->start(x) < 0) {
            log_error(NULL, "the %s module could not start", (*m)->name);
            xapi_stop(x);
            return -1;
        }
    }
    if (xapi_listen(x) < 0) {
        xapi_stop(x);
        return -1;
    }
    log_info(NULL, "host %s serving the XenAPI on %s port %d and %s/xapi.sock", x->id.host_uuid,
             x->settings.address ? x->settings.address : "*", http_server_port(x->http),
             x->run_dir);
    return 0;
}

int xapi_stop(struct xapi *x)
{
    atomic_store(&x->quiescing, true);
    for (size_t i = 0; i < x->n_started; i++)
        if (x->settings.modules[i]->quiesce)
            x->settings.modules[i]->quiesce(x);
    if (x->http) {
        http_server_stop(x->http);
        http_server_free(x->http);
        x->http = NULL;
    }
    int running = 0;
    for (size_t i = x->n_started; i-- > 0;)
        if (x->settings.modules[i]->stop)
            running += x->settings.modules[i]->stop(x);
    x->stuck = running > 0;
    if (running)
        log_warn(NULL, "%d thread(s) did not stop: exiting without freeing what they use", running);
    else
        log_info(NULL, "stopped");
    return running;
}

void xapi_free(struct xapi *x)
{
    if (!x || x->stuck)
        return;
    /* Every module's: one whose start failed may hold half of its state. */
    size_t n = 0;
    while (x->settings.modules[n])
        n++;
    for (size_t i = n; i-- > 0;)
        if (x->settings.modules[i]->free)
            x->settings.modules[i]->free(x);
    xapi_modules_unindex(x);
    db_close(x->db);
    pthread_mutex_destroy(&x->id_lock);
    free((char *)x->settings.address);
    free((char *)x->settings.management_address);
    const char *product[] = {x->settings.product.brand,
                             x->settings.product.version,
                             x->settings.product.version_text,
                             x->settings.product.platform_name,
                             x->settings.product.platform_version,
                             x->settings.product.build_number};
    for (size_t i = 0; i < sizeof(product) / sizeof(product[0]); i++)
        free((char *)product[i]);
    free((char *)x->state_dir);
    free((char *)x->run_dir);
    free(x);
}
