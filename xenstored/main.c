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
#include "daemon.h"
#include "hostdir.h"
#include "log.h"
#include "loop.h"
#include "ops.h"

struct xsd_settings {
    long long max_conns;
    bool access_log;
};

static int xsd_read_settings(struct daemon *d, struct xsd_settings *s)
{
    const char *err;
    if (config_get_int(d->cfg, "max-connections", 4096, 1, 1000000, &s->max_conns, &err) ||
        config_get_bool(d->cfg, "access-log", false, &s->access_log, &err))
        return daemon_bad_setting(d, err);
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

static int xsd_serve(const struct xsd_settings *s, struct daemon *d)
{
    struct xsd *x = xsd_new(d->run_dir);
    x->max_conns = (size_t)s->max_conns;
    x->access_log = s->access_log;
    int rc = 1;
    if (xsd_loop_init(x, d) < 0) {
        log_error(NULL, "cannot set up the event loop: %s", strerror(errno));
    } else if (xsd_open_sockets(x) == 0) {
        log_info(NULL, "serving on %s/xenstored.sock and xenstored.ro.sock", d->run_dir);
        rc = xsd_loop_run(x) < 0 ? 1 : 0;
    }
    xsd_free(x);
    log_info(NULL, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct daemon d;
    struct xsd_settings s;
    int rc = daemon_init(&d, "xenstored", argc, argv);
    if (rc == 0)
        rc = xsd_read_settings(&d, &s);
    if (rc == 0)
        rc = daemon_open_log(&d);
    if (rc == 0)
        rc = xsd_serve(&s, &d);
    daemon_fini(&d);
    return rc;
}
