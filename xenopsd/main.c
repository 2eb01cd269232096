/*
 * main.c - the xenopsd daemon: manages the domains of one host for xapi,
 * with the JSON-RPC interface of docs/xenopsd-interface.md on
 * RUNDIR/xenopsd.sock, its state in STATE/xenopsd/ and the simulator as
 * its backend.
 *
 * Settings come from STATE/xenopsd.conf, then from flags:
 *   --state DIR (required)  --run DIR (default DIR/run)
 *   --foreground (log to stderr as well as STATE/log/xenopsd.log)
 *   --log-level LEVEL, --workers N (operations run at once, default 16)
 *   --sim-memory BYTES (guest memory of the host; default from /proc/meminfo)
 *   --sim-cpus N, --sim-boot-ms MS (from unpause to the guest agent's keys)
 *   --suspend-ack-ms MS (how long a guest has to acknowledge a suspend)
 *   --port and --address are accepted and ignored (every daemon gets them)
 */
#include "agent.h"
#include "buf.h"
#include "daemon.h"
#include "guestinfo.h"
#include "hostdir.h"
#include "ipc.h"
#include "log.h"
#include "rpc.h"
#include "sim.h"
#include "xenopsd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XO_XENSTORED_WAIT_MS 20000
#define XO_UPDATES_KEPT 100000
#define XO_TASKS_KEPT 10000

struct xo_settings {
    const char *state_dir, *run_dir;
    long long workers, sim_memory, sim_cpus, boot_ms, suspend_ack_ms;
};

static int xo_read_settings(struct daemon *d, struct xo_settings *s)
{
    struct config *cfg = d->cfg;
    const char *err;
    s->state_dir = d->state_dir;
    s->run_dir = d->run_dir;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (config_get_int(cfg, "workers", 16, 1, 1024, &s->workers, &err) ||
        config_get_int(cfg, "sim-memory", 0, 0, 1LL << 52, &s->sim_memory, &err) ||
        config_get_int(cfg, "sim-cpus", cpus > 0 ? cpus : 1, 1, 4096, &s->sim_cpus, &err) ||
        config_get_int(cfg, "sim-boot-ms", 200, 0, 600000, &s->boot_ms, &err) ||
        config_get_int(cfg, "suspend-ack-ms", 30000, 0, 3600000, &s->suspend_ack_ms, &err))
        return daemon_bad_setting(d, err);
    if (s->sim_memory == 0)
        s->sim_memory = sim_host_memory();
    return 0;
}

/* xenstored starts first, but may still be coming up (or restarting). */
static struct xs_client *xo_connect_xenstored(const char *path)
{
    struct xs_error err = {0};
    for (int waited = 0; waited < XO_XENSTORED_WAIT_MS; waited += 100) {
        struct xs_client *xs = xs_client_open(path, &err);
        if (xs)
            return xs;
        usleep(100 * 1000);
    }
    log_error(NULL, "cannot reach xenstored at %s: %s", path, err.name);
    return NULL;
}

static int xo_run(struct xenopsd *x, struct sim *sim, struct agent *agent,
                  const struct xo_settings *s, struct daemon *d)
{
    if (xo_persist_load(x) < 0) {
        log_error(NULL, "cannot read %s: %s", x->vm_dir, strerror(errno));
        return 1;
    }
    struct xs_client *xs = xo_connect_xenstored(x->xs_path);
    if (!xs || agent_start(agent) < 0 || xo_guestinfo_start(x->guestinfo) < 0) {
        xs_client_close(xs);
        return 1;
    }
    xo_reconcile(x, xs);
    xs_client_close(xs);
    if (xo_workers_start(x, (int)s->workers) < 0)
        return 1;
    struct buf sock = BUF_INIT;
    buf_printf(&sock, "%s/xenopsd.sock", x->run_dir);
    const char *err = NULL;
    struct ipc_server *server = ipc_server_start(sock.data, xo_rpc_methods, x, 0, &err);
    if (server) {
        log_info(NULL, "serving on %s (backend %s, %lld bytes of guest memory, %d workers)",
                 sock.data, x->backend.ops->name, s->sim_memory, x->nworkers);
        daemon_wait_for_stop(d);
        log_info(NULL, "stopping");
        xo_updates_stop(x->updates);
        xo_tasks_stop(x->tasks);
        ipc_server_stop(server);
    } else {
        log_error(NULL, "cannot serve on %s: %s", sock.data, err);
    }
    agent_stop(agent);
    xo_workers_stop(x);
    buf_free(&sock);
    (void)sim;
    return server ? 0 : 1;
}

/* After a change that could not be saved: stop, as SIGTERM would, and
 * exit non-zero, for the supervisor to restart xenopsd from its files. */
static void xo_stop_diverged(struct xenopsd *x)
{
    (void)x;
    kill(getpid(), SIGTERM);
}

static int xo_serve(const struct xo_settings *s, struct daemon *d)
{
    struct xenopsd x = {0};
    xo_init(&x);
    struct buf vm_dir = BUF_INIT, xs_path = BUF_INIT;
    buf_printf(&vm_dir, "%s/xenopsd", s->state_dir);
    buf_printf(&xs_path, "%s/xenstored.sock", s->run_dir);
    x.state_dir = (char *)s->state_dir;
    x.run_dir = (char *)s->run_dir;
    x.vm_dir = vm_dir.data;
    x.xs_path = xs_path.data;
    x.suspend_ack_ms = s->suspend_ack_ms;
    x.on_diverged = xo_stop_diverged;
    x.updates = xo_updates_new(XO_UPDATES_KEPT);
    x.tasks = xo_tasks_new(x.updates, XO_TASKS_KEPT);
    struct sim *sim = sim_new(s->sim_memory, (int)s->sim_cpus);
    struct agent *agent = agent_new(s->run_dir, sim_guest_shutdown, sim);
    sim_set_agent(sim, agent, (int)s->boot_ms);
    sim_set_unsolicited(sim, xo_on_unsolicited_shutdown, &x);
    x.backend = sim_backend(sim);
    x.guestinfo = xo_guestinfo_new(&x);
    int rc = hostdir_mkdirs(x.vm_dir, 0700) < 0 ? 1 : xo_run(&x, sim, agent, s, d);
    if (atomic_load(&x.diverged))
        rc = 1;
    xo_guestinfo_free(x.guestinfo);
    agent_free(agent);
    sim_free(sim);
    xo_tasks_free(x.tasks);
    xo_updates_free(x.updates);
    xo_destroy(&x);
    buf_free(&vm_dir);
    buf_free(&xs_path);
    log_info(NULL, "stopped");
    return rc;
}

int main(int argc, char **argv)
{
    struct daemon d;
    struct xo_settings s;
    int rc = daemon_init(&d, "xenopsd", argc, argv);
    if (rc == 0)
        rc = xo_read_settings(&d, &s);
    if (rc == 0)
        rc = daemon_open_log(&d);
    if (rc == 0)
        rc = xo_serve(&s, &d);
    daemon_fini(&d);
    return rc;
}
