/*
 * supervisor.h - the host command `cxapi`: starts a host's daemons in
 * dependency order, restarts one that dies (with back-off), stops them all
 * on SIGTERM, and reports their state.
 *
 * Files: DIR/cxapi.conf (how the host was last started: port, address, run
 * dir), RUNDIR/cxapi.pid (the supervisor), RUNDIR/status (one line per
 * daemon: name pid state restarts since), DIR/log/cxapi.log, and
 * DIR/log/NAME.out (each daemon's stdout and stderr).
 */
#ifndef CX_SUPERVISOR_H
#define CX_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

struct supervisor {
    const char *state_dir;
    const char *run_dir;
    const char *address; /* NULL = every address */
    int port;
    const char *bin_dir;  /* where the daemons' binaries are */
    const char *log_path; /* the supervisor's own log */
    /* Called once: ok when every daemon answers, !ok when the start failed. */
    void (*on_ready)(struct supervisor *s, bool ok);
    void *ready_ctx;
    bool foreground;
};

/* Runs until SIGTERM or SIGINT; returns the process exit status. */
int supervise(struct supervisor *s);
/* Stops the daemons that still hold their locks on run_dir after their
 * supervisor died (SIGTERM, then SIGKILL): 0 once none is left, -1
 * (logged) if one would not stop. supervise does this before it starts
 * any; cxapi stop does it when no supervisor runs. */
int supervisor_stop_orphans(const char *run_dir);

#endif
