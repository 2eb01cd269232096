/*
 * daemon.c - a daemon's settings, signals and log; see daemon.h.
 */
#include "daemon.h"
#include "hostdir.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

int daemon_bad_setting(struct daemon *d, const char *why)
{
    fprintf(stderr, "%s: %s\n", d->name, why);
    return 2;
}

int daemon_init(struct daemon *d, const char *name, int argc, char **argv)
{
    *d =
        (struct daemon){.name = name, .run_default = BUF_INIT, .log_path = BUF_INIT, .lock_fd = -1};
    umask(077); /* what a daemon creates is the host's alone, whatever its parent's umask */
    /* A descriptor per connection: as many as the system lets us have,
     * not the 1,024 a login shell's soft limit gives. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    const char *err = NULL;
    d->cfg = config_load_daemon(argc, argv, name, &err);
    if (err)
        return daemon_bad_setting(d, err);
    d->state_dir = config_get(d->cfg, "state", NULL);
    buf_printf(&d->run_default, "%s/run", d->state_dir);
    d->run_dir = config_get(d->cfg, "run", d->run_default.data);
    d->log_level = config_get(d->cfg, "log-level", "info");
    if (config_get_bool(d->cfg, "foreground", false, &d->foreground, &err) < 0)
        return daemon_bad_setting(d, err);
    if (log_level_parse(d->log_level) < 0)
        return daemon_bad_setting(d, "log-level must be one of debug, info, warn, error");
    sigemptyset(&d->signals);
    sigaddset(&d->signals, SIGTERM);
    sigaddset(&d->signals, SIGINT);
    sigaddset(&d->signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &d->signals, NULL); /* threads inherit the mask */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Takes RUN/NAME.lock for the daemon's life (hostdir.h). */
static int daemon_lock(struct daemon *d)
{
    d->lock_fd = hostdir_lock_take(d->run_dir, d->name);
    if (d->lock_fd >= 0)
        return 0;
    if (errno == EWOULDBLOCK)
        fprintf(stderr, "%s: already running on %s (pid %d): not starting a second\n", d->name,
                d->run_dir, hostdir_lock_holder(d->run_dir, d->name));
    else
        fprintf(stderr, "%s: cannot take %s/%s.lock: %s\n", d->name, d->run_dir, d->name,
                strerror(errno));
    return -1;
}

int daemon_open_log(struct daemon *d)
{
    struct buf log_dir = BUF_INIT;
    buf_printf(&log_dir, "%s/log", d->state_dir);
    buf_reset(&d->log_path);
    buf_printf(&d->log_path, "%s/%s.log", log_dir.data, d->name);
    int rc = 1;
    if (hostdir_mkdirs(d->run_dir, 0700) < 0 || hostdir_mkdirs(log_dir.data, 0700) < 0) {
        fprintf(stderr, "%s: cannot create %s: %s\n", d->name, d->run_dir, strerror(errno));
    } else if (daemon_lock(d) < 0) {
        /* said why */
    } else if (log_open(d->name, d->log_path.data, d->foreground) < 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", d->name, d->log_path.data, strerror(errno));
    } else {
        log_set_level((enum log_level)log_level_parse(d->log_level));
        rc = 0;
    }
    buf_free(&log_dir);
    return rc;
}

void daemon_reopen_log(struct daemon *d)
{
    log_open(d->name, d->log_path.data, d->foreground);
    log_info(NULL, "log reopened");
}

void daemon_wait_for_stop(struct daemon *d)
{
    for (;;) {
        int sig = 0;
        if (sigwait(&d->signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            daemon_reopen_log(d);
            continue;
        }
        log_info(NULL, "received %s: shutting down", strsignal(sig));
        return;
    }
}

void daemon_fini(struct daemon *d)
{
    log_close();
    if (d->lock_fd >= 0) /* the lock goes with the descriptor */
        close(d->lock_fd);
    d->lock_fd = -1;
    buf_free(&d->run_default);
    buf_free(&d->log_path);
    config_free(d->cfg);
    d->cfg = NULL;
}
