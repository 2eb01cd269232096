/*
 * daemon.h - what every daemon of a host does around its own work: read
 * its settings (its flags, then STATE/<name>.conf), the settings they all
 * share (state, run, log-level, foreground), block the stop signals in
 * every thread so that only the main one takes them, open its log, and
 * wait for the stop signal, reopening the log on SIGHUP (rotation).
 *
 * A daemon's main is then: daemon_init, its own settings from d.cfg,
 * daemon_open_log, its work until daemon_wait_for_stop returns (or its
 * own loop takes the signals), daemon_fini. The return values are the
 * process's exit status: 2 for settings that are wrong, 1 for a failure
 * to start.
 */
#ifndef CX_DAEMON_H
#define CX_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "buf.h"
#include "config.h"

struct daemon {
    const char *name;
    struct config *cfg;
    const char *state_dir, *run_dir; /* run: --run, else STATE/run */
    const char *log_level;
    bool foreground;  /* log to stderr as well */
    int lock_fd;      /* RUN/NAME.lock, held for the daemon's life (daemon_open_log) */
    sigset_t signals; /* SIGTERM, SIGINT, SIGHUP: blocked in every thread */
    struct buf run_default, log_path;
};

/* Reads the settings and blocks the signals (SIGPIPE is ignored). Returns
 * 0, or 2 after saying what is wrong on stderr. Call daemon_fini
 * whatever it returns. */
int daemon_init(struct daemon *d, const char *name, int argc, char **argv);
/* For a daemon's own settings that are wrong: says why on stderr;
 * returns 2. */
int daemon_bad_setting(struct daemon *d, const char *why);
/* Creates the run directory and STATE/log, takes RUN/NAME.lock (a second
 * NAME on the same run dir refuses to start: it would take over the
 * first one's sockets), opens STATE/log/NAME.log (to stderr as well in
 * the foreground) at the log level. Returns 0, or 1 after saying why on
 * stderr. */
int daemon_open_log(struct daemon *d);
/* Opens the log again (rotation), for a daemon that takes SIGHUP itself. */
void daemon_reopen_log(struct daemon *d);
/* Blocks until SIGTERM or SIGINT, reopening the log on each SIGHUP. */
void daemon_wait_for_stop(struct daemon *d);
/* Closes the log and frees the settings. */
void daemon_fini(struct daemon *d);

#endif
