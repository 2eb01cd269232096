/*
 * main.c - the xenstored daemon: the hierarchical configuration store
 * that connects domains to their devices, speaking Xen's wire protocol on
 * RUNDIR/xenstored.sock (dom0) and RUNDIR/xenstored.ro.sock (dom0, read
 * only), so Xen's own clients (libxenstore, xenstore-utils through
 * XENSTORED_PATH) work against it unchanged. The store lives in memory:
 * like Xen's, it starts empty with each boot of the host.
 *
 * Settings come from STATE/xenstored.conf, then from flags:
 *   --state DIR (required)  --run DIR (default DIR/run)
 *   --foreground (log to stderr as well as STATE/log/xenstored.log)
 *   --access-log (log every request; CONTROL "log on|off" toggles it)
 *   --log-level LEVEL, --max-connections N
 *   --port and --address are accepted and ignored (every daemon gets them)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "hostdir.h"
#include "log.h"
#include "loop.h"
#include "ops.h"

struct xsd_settings {
    const char *state_dir, *run_dir, *log_level;
    long long max_conns;
    bool foreground, access_log;
};

static int xsd_read_settings(struct config *cfg, struct xsd_settings *s, struct buf *run_default,
                             const char **err)
{
    s->state_dir = config_get(cfg, "state", NULL);
    buf_printf(run_default, "%s/run", s->state_dir);
    s->run_dir = config_get(cfg, "run", run_default->data);
    s->log_level = config_get(cfg, "log-level", "info");
    if (config_get_int(cfg, "max-connections", 4096, 1, 1000000, &s->max_conns, err) ||
        config_get_bool(cfg, "foreground", false, &s->foreground, err) ||
        config_get_bool(cfg, "access-log", false, &s->access_log, err))
        return -1;
    if (log_level_parse(s->log_level) < 0) {
        *err = "log-level must be one of debug, info, warn, error";
        return -1;
    }
    return 0;
}

static int xsd_open_sockets(struct xsd *x)
{
    struct buf rw = BUF_INIT, ro = BUF_INIT;
    buf_printf(&rw, "%s/xenstored.sock", x->run_dir);
    buf_printf(&ro, "%s/xenstored.ro.sock", x->run_dir);
    x->rw = xsd_listen(x, rw.data, 0, true, false);
    x->ro = xsd_listen(x, ro.data, 0, true, true);
    int rc = x->rw && x->ro ? 0 : -1;
    buf_free(&rw);
    buf_free(&ro);
    return rc;
}

static int xsd_serve(const struct xsd_settings *s, const char *log_path)
{
    struct xsd *x = xsd_new(s->run_dir);
    x->max_conns = (size_t)s->max_conns;
    x->access_log = s->access_log;
    int rc = 1;
    if (xsd_loop_init(x, log_path, s->foreground) < 0) {
        log_error(NULL, "cannot set up the event loop: %s", strerror(errno));
    } else if (xsd_open_sockets(x) == 0) {
        log_info(NULL, "serving on %s/xenstored.sock and xenstored.ro.sock", s->run_dir);
        rc = xsd_loop_run(x) < 0 ? 1 : 0;
    }
    xsd_free(x);
    log_info(NULL, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    const char *err = NULL;
    struct buf run_default = BUF_INIT, log_path = BUF_INIT;
    struct config *cfg = config_load_daemon(argc, argv, "xenstored", &err);
    struct xsd_settings s = {0};
    if (err || xsd_read_settings(cfg, &s, &run_default, &err) < 0) {
        fprintf(stderr, "xenstored: %s\n", err);
        config_free(cfg);
        buf_free(&run_default);
        return 2;
    }
    int rc = 1;
    if (hostdir_daemon_log("xenstored", s.state_dir, s.run_dir, s.foreground, s.log_level,
                           &log_path) == 0)
        rc = xsd_serve(&s, log_path.data);
    log_close();
    buf_free(&run_default);
    buf_free(&log_path);
    config_free(cfg);
    return rc;
}
