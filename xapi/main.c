/*
 * main.c - the xapi daemon: load the host's identity and settings, serve
 * the XenAPI on TCP and on RUNDIR/xapi.sock, stop cleanly on SIGTERM.
 * The database is STATE/xapi.db.
 *
 * Settings come from STATE/xapi.conf, then from flags:
 *   --state DIR (required)  --run DIR (default DIR/run)
 *   --port N (default 80)   --address ADDR (default every address)
 *   --foreground (log to stderr as well as STATE/log/xapi.log)
 *   max-rpc-size, http-header-timeout-ms, http-idle-timeout-ms,
 *   http-io-timeout-ms, max-connections, log-level
 */
#include "core/xapi.h"
#include "buf.h"
#include "config.h"
#include "db/db.h"
#include "core/event.h"
#include "core/task.h"
#include "hostdir.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xapi_settings {
    long long port, max_rpc_size, header_ms, idle_ms, io_ms, max_conns;
    bool foreground;
    const char *address;
    const char *log_level;
};

static int xapi_read_settings(struct config *cfg, struct xapi_settings *s, const char **err)
{
    if (config_get_int(cfg, "port", 80, 0, 65535, &s->port, err) ||
        config_get_int(cfg, "max-rpc-size", 1024 * 1024, 1024, 1LL << 30, &s->max_rpc_size, err) ||
        config_get_int(cfg, "http-header-timeout-ms", 10000, 1, 3600000, &s->header_ms, err) ||
        config_get_int(cfg, "http-idle-timeout-ms", 300000, 1, 86400000, &s->idle_ms, err) ||
        config_get_int(cfg, "http-io-timeout-ms", 60000, 1, 3600000, &s->io_ms, err) ||
        config_get_int(cfg, "max-connections", 800, 1, 100000, &s->max_conns, err) ||
        config_get_bool(cfg, "foreground", false, &s->foreground, err))
        return -1;
    s->address = config_get(cfg, "address", NULL);
    s->log_level = config_get(cfg, "log-level", "info");
    if (log_level_parse(s->log_level) < 0) {
        *err = "log-level must be one of debug, info, warn, error";
        return -1;
    }
    return 0;
}

static int xapi_listen(struct xapi *x, const struct xapi_settings *s)
{
    const char *err;
    if (http_server_listen_tcp(x->http, s->address, (int)s->port, &err) < 0) {
        log_error(NULL, "cannot listen on %s port %lld: %s", s->address ? s->address : "*", s->port,
                  err);
        return -1;
    }
    struct buf sock = BUF_INIT;
    buf_printf(&sock, "%s/xapi.sock", x->run_dir);
    int rc = http_server_listen_unix(x->http, sock.data, &err);
    if (rc < 0)
        log_error(NULL, "cannot listen on %s: %s", sock.data, err);
    buf_free(&sock);
    return rc;
}

/* Waits for a stop signal; SIGHUP reopens the log (rotation). */
static void xapi_wait_for_stop(const sigset_t *set, const char *log_path, bool foreground)
{
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_open("xapi", log_path, foreground);
            log_info(NULL, "log reopened");
            continue;
        }
        log_info(NULL, "received %s: shutting down", strsignal(sig));
        return;
    }
}

static int xapi_run(struct xapi *x, const struct xapi_settings *s, const char *log_path)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* threads inherit: only sigwait sees them */
    signal(SIGPIPE, SIG_IGN);

    struct http_server_opts opts = {
        .handler = xapi_frontdoor,
        .ctx = x,
        .header_timeout_ms = (int)s->header_ms,
        .idle_timeout_ms = (int)s->idle_ms,
        .io_timeout_ms = (int)s->io_ms,
        .max_connections = (int)s->max_conns,
    };
    x->http = http_server_new(&opts);
    if (xapi_listen(x, s) < 0 || http_server_start(x->http) < 0) {
        http_server_free(x->http);
        return 1;
    }
    log_info(NULL, "host %s serving the XenAPI on %s port %d and %s/xapi.sock", x->id.host_uuid,
             s->address ? s->address : "*", http_server_port(x->http), x->run_dir);
    xapi_wait_for_stop(&set, log_path, s->foreground);
    xapi_event_shutdown(); /* long-polling calls return, so their threads end */
    http_server_stop(x->http);
    http_server_free(x->http);
    log_info(NULL, "stopped");
    return 0;
}

/* Opens the database, makes sure the host's own objects are there, and
 * serves until told to stop. */
static int xapi_serve(struct xapi *x, const struct xapi_settings *s, const char *log_path)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/xapi.db", x->state_dir);
    char why[512];
    x->db = db_open(path.data, why, sizeof(why));
    buf_free(&path);
    if (!x->db) {
        log_error(NULL, "cannot open the database: %s", why);
        return 1;
    }
    int rc = 1;
    if (xapi_firstboot(x, why, sizeof(why)) < 0) {
        log_error(NULL, "cannot create the host's objects: %s", why);
    } else {
        vm_service_start(x); /* follows xenopsd */
        rc = xapi_run(x, s, log_path);
        vm_service_stop(x);
    }
    /* Task threads must be done with the database before it goes; if some
     * would not stop, leave it to the exit rather than free it under them. */
    int stuck = task_shutdown(5000);
    if (stuck) {
        log_warn(NULL, "%d task(s) did not stop; exiting without closing the database", stuck);
    } else {
        vm_service_free(x);
        db_close(x->db);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *err = NULL;
    struct config *cfg = config_load_daemon(argc, argv, "xapi", &err);
    struct xapi_settings s = {0};
    if (err || xapi_read_settings(cfg, &s, &err) < 0) {
        fprintf(stderr, "xapi: %s\n", err);
        config_free(cfg);
        return 2;
    }
    struct xapi x = {0};
    pthread_mutex_init(&x.id_lock, NULL);
    x.state_dir = config_get(cfg, "state", NULL);
    struct buf run_default = BUF_INIT, log_path = BUF_INIT;
    buf_printf(&run_default, "%s/run", x.state_dir);
    x.run_dir = config_get(cfg, "run", run_default.data);
    x.max_rpc_size = (size_t)s.max_rpc_size;
    int rc = 1;
    char why[256];
    if (hostdir_daemon_log("xapi", x.state_dir, x.run_dir, s.foreground, s.log_level, &log_path) <
        0) {
        /* said on stderr */
    } else if (hostdir_load(x.state_dir, &x.id, why, sizeof(why)) < 0) {
        log_error(NULL, "cannot load the host identity: %s", why);
    } else {
        rc = xapi_serve(&x, &s, log_path.data);
    }
    log_close();
    buf_free(&run_default);
    buf_free(&log_path);
    config_free(cfg);
    return rc;
}
