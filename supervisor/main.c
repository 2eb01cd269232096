/*
 * main.c - `cxapi start|stop|status --state DIR ...`, the host command.
 *
 * start creates the host on the first start of DIR, then runs the
 * supervisor in the background (or in the foreground with --foreground)
 * and returns once every daemon's API answers, printing the URL and the
 * root login. stop and status need only --state: start records the rest
 * in DIR/cxapi.conf.
 */
#include "supervisor.h"
#include "buf.h"
#include "config.h"
#include "hostdir.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void cx_usage(FILE *f)
{
    fprintf(f, "usage: cxapi start --state DIR [--port PORT] [--address ADDR] [--run RUNDIR]\n"
               "                   [--root-password PW | --root-password-file FILE|-]\n"
               "                   [--foreground]\n"
               "       cxapi stop --state DIR\n"
               "       cxapi status --state DIR\n");
}

static void cx_path(struct buf *b, const char *dir, const char *name)
{
    buf_reset(b);
    buf_printf(b, "%s/%s", dir, name);
}

/* The running supervisor's pid, or 0: who holds RUN/cxapi.lock. A
 * killed supervisor leaves a pid file and maybe a zombie, never a held
 * lock. A lock just taken may not have its pid yet: a moment is given. */
static pid_t cx_running(const char *run_dir)
{
    for (int i = 0; i < 40; i++) {
        int pid = hostdir_lock_holder(run_dir, "cxapi");
        if (pid >= 0)
            return (pid_t)pid;
        usleep(25 * 1000);
    }
    return 0;
}

/* Takes RUN/cxapi.lock for the rest of this process's life (the
 * descriptor is left open; no daemon inherits it) and writes our pid in
 * RUN/cxapi.pid too. -1 when another supervisor holds it: two starts
 * that raced, and this one must not run. */
static int cx_lock_supervisor(const char *run_dir)
{
    if (hostdir_lock_take(run_dir, "cxapi") < 0) {
        fprintf(stderr, "cxapi: %s/cxapi.lock: %s\n", run_dir,
                errno == EWOULDBLOCK ? "another supervisor holds it" : strerror(errno));
        return -1;
    }
    struct buf path = BUF_INIT;
    cx_path(&path, run_dir, "cxapi.pid");
    FILE *f = fopen(path.data, "we");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    buf_free(&path);
    return 0;
}

static void cx_remove_runtime(const char *run_dir)
{
    struct buf path = BUF_INIT;
    cx_path(&path, run_dir, "cxapi.pid");
    unlink(path.data);
    cx_path(&path, run_dir, "status");
    unlink(path.data);
    buf_free(&path);
}

/* The run dir of a started host, from DIR/cxapi.conf. */
static struct config *cx_load_host(const char *state, const char **run_dir)
{
    struct config *c = config_new();
    struct buf path = BUF_INIT;
    cx_path(&path, state, "cxapi.conf");
    const char *err;
    if (config_load_file(c, path.data, false, &err) < 0) {
        fprintf(stderr, "cxapi: %s (was this host ever started?)\n", err);
        config_free(c);
        c = NULL;
    } else {
        *run_dir = config_get(c, "run", NULL);
    }
    buf_free(&path);
    return c;
}

static void cx_print_login(const struct config *args, const struct host_identity *id, int port)
{
    const char *addr = config_get(args, "address", NULL);
    if (!addr || strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0)
        addr = "127.0.0.1";
    bool v6 = strchr(addr, ':') != NULL;
    printf("cxapi: host %s is up\n", id->host_uuid);
    printf("  URL:   http://%s%s%s:%d/\n", v6 ? "[" : "", addr, v6 ? "]" : "", port);
    if (id->root_password[0])
        printf("  login: root / %s\n", id->root_password);
    else /* only its hash is kept */
        printf("  login: root / (the password set before; --root-password sets another)\n");
    fflush(stdout);
}

/* Directory holding this executable: the daemons are built beside it. */
static char *cx_bin_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return strdup(".");
    exe[n] = '\0';
    return strdup(dirname(exe));
}

struct cx_ready {
    const struct config *args;
    const struct host_identity *id;
    int port;
    int fd; /* background: the pipe to the waiting parent */
};

static void cx_ready_print(struct supervisor *sup, bool ok)
{
    struct cx_ready *r = sup->ready_ctx;
    if (ok)
        cx_print_login(r->args, r->id, r->port);
}

static void cx_ready_pipe(struct supervisor *sup, bool ok)
{
    struct cx_ready *r = sup->ready_ctx;
    ssize_t n = write(r->fd, ok ? "ok\n" : "failed\n", ok ? 3 : 7);
    (void)n;
    close(r->fd);
}

static int cx_supervise_background(struct supervisor *sup)
{
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    fflush(NULL); /* or the child's exit would print what is buffered twice */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(pipefd[0]);
        setsid();
        struct buf out = BUF_INIT;
        buf_printf(&out, "%s/log/cxapi.out", sup->state_dir);
        int null = open("/dev/null", O_RDWR);
        int fd = open(out.data, O_WRONLY | O_CREAT | O_APPEND, 0640);
        buf_free(&out);
        if (null >= 0 && fd >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(fd, 2);
        }
        struct cx_ready *r = sup->ready_ctx;
        r->fd = pipefd[1];
        sup->on_ready = cx_ready_pipe;
        int rc = cx_lock_supervisor(sup->run_dir) < 0 ? 1 : supervise(sup);
        cx_remove_runtime(sup->run_dir);
        log_close();
        exit(rc); /* not _exit: LeakSanitizer checks the supervisor at exit */
    }
    close(pipefd[1]);
    char word[16] = {0};
    ssize_t n;
    do
        n = read(pipefd[0], word, sizeof(word) - 1);
    while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    return strncmp(word, "ok", 2) == 0 ? 0 : -1;
}

static int cx_start(struct config *args)
{
    umask(077); /* the host's files are its own: the daemons inherit this */
    const char *state = config_get(args, "state", NULL);
    const char *err;
    long long port;
    if (config_get_int(args, "port", 80, 1, 65535, &port, &err) < 0) {
        fprintf(stderr, "cxapi: %s\n", err);
        return 2;
    }
    struct host_identity id;
    bool created;
    const char *why;
    struct arena *a = arena_new();
    int init = hostdir_init(a, state, config_get(args, "root-password", NULL), &id, &created, &why);
    if (init < 0)
        fprintf(stderr, "cxapi: %s\n", why);
    arena_free(a);
    if (init < 0)
        return 1;
    char abs_state[PATH_MAX];
    if (!realpath(state, abs_state)) {
        fprintf(stderr, "cxapi: %s: %s\n", state, strerror(errno));
        return 1;
    }
    state = abs_state;
    struct buf run_default = BUF_INIT, path = BUF_INIT;
    cx_path(&run_default, state, "run");
    const char *run_dir = config_get(args, "run", run_default.data);
    int rc = 1;
    pid_t other = hostdir_mkdirs(run_dir, 0700) == 0 ? cx_running(run_dir) : -1;
    if (other != 0) {
        if (other > 0)
            fprintf(stderr, "cxapi: the host in %s is already running (pid %d)\n", state,
                    (int)other);
        else
            fprintf(stderr, "cxapi: cannot create %s: %s\n", run_dir, strerror(errno));
        goto out;
    }
    /* Files an earlier version or another umask made: private again. A
     * run dir given outside the state dir is the operator's to set. */
    int loose = hostdir_tighten(state);
    if (loose != 0)
        fprintf(stderr, "cxapi: warning: %s: %d entries could not be made private (0700/0600)\n",
                state, loose < 0 ? -1 : loose);
    struct config *saved = config_new();
    config_set(saved, "port", config_get(args, "port", "80"));
    config_set(saved, "run", run_dir);
    if (config_get(args, "address", NULL))
        config_set(saved, "address", config_get(args, "address", NULL));
    cx_path(&path, state, "cxapi.conf");
    int saved_rc = config_save(saved, path.data, 0600);
    config_free(saved);
    if (saved_rc < 0) {
        fprintf(stderr, "cxapi: cannot write %s: %s\n", path.data, strerror(errno));
        goto out;
    }
    bool foreground = config_get(args, "foreground", NULL) != NULL;
    cx_path(&path, state, "log/cxapi.log");
    log_open("cxapi", path.data, foreground);
    char *bin_dir = cx_bin_dir();
    struct supervisor sup = {
        .state_dir = state,
        .run_dir = run_dir,
        .address = config_get(args, "address", NULL),
        .port = (int)port,
        .bin_dir = bin_dir,
        .log_path = path.data,
        .on_ready = cx_ready_print,
        .foreground = foreground,
    };
    struct cx_ready ready = {args, &id, (int)port, -1};
    sup.ready_ctx = &ready;
    if (created)
        log_info(NULL, "created host %s in %s", id.host_uuid, state);
    if (foreground && cx_lock_supervisor(run_dir) < 0) {
        rc = 1;
    } else if (foreground) {
        printf("cxapi: starting host %s in the foreground; Ctrl-C stops it\n", id.host_uuid);
        fflush(stdout);
        rc = supervise(&sup);
        cx_remove_runtime(run_dir);
    } else if (cx_supervise_background(&sup) == 0) {
        cx_print_login(args, &id, (int)port);
        rc = 0;
    } else {
        fprintf(stderr, "cxapi: the host did not start; see %s/log/\n", state);
    }
    free(bin_dir);
out:
    log_close();
    buf_free(&run_default);
    buf_free(&path);
    return rc;
}

static int cx_stop(struct config *args)
{
    const char *run_dir = NULL;
    struct config *host = cx_load_host(config_get(args, "state", NULL), &run_dir);
    if (!host)
        return 1;
    pid_t pid = cx_running(run_dir);
    int rc = 0;
    if (pid == 0) {
        /* No supervisor; daemons it left behind (it was killed) go too. */
        log_open("cxapi", NULL, true);
        rc = supervisor_stop_orphans(run_dir) < 0 ? 1 : 0;
        printf("cxapi: not running\n");
    } else {
        kill(pid, SIGTERM);
        int i;
        for (i = 0; i < 600 && kill(pid, 0) == 0; i++)
            usleep(50 * 1000);
        if (i == 600) {
            fprintf(stderr, "cxapi: supervisor %d did not stop within 30s\n", (int)pid);
            rc = 1;
        } else {
            printf("cxapi: stopped\n");
        }
    }
    config_free(host);
    return rc;
}

static int cx_status(struct config *args)
{
    const char *run_dir = NULL;
    struct config *host = cx_load_host(config_get(args, "state", NULL), &run_dir);
    if (!host)
        return 1;
    pid_t pid = cx_running(run_dir);
    if (pid == 0) {
        printf("cxapi: not running\n");
        config_free(host);
        return 3;
    }
    printf("supervisor pid %d\n%-14s %-8s %-8s %-9s %s\n", (int)pid, "DAEMON", "PID", "STATE",
           "RESTARTS", "UPTIME");
    struct buf path = BUF_INIT;
    cx_path(&path, run_dir, "status");
    FILE *f = fopen(path.data, "re");
    char name[64], state[16];
    int dpid, restarts;
    long long since;
    while (f && fscanf(f, "%63s %d %15s %d %lld", name, &dpid, state, &restarts, &since) == 5)
        printf("%-14s %-8d %-8s %-9d %llds\n", name, dpid, state, restarts,
               strcmp(state, "running") == 0 ? (long long)time(NULL) - since : 0LL);
    if (f)
        fclose(f);
    buf_free(&path);
    config_free(host);
    return 0;
}

/* Overwrites a password given on the command line in argv itself, which
 * is what /proc/PID/cmdline shows: the supervisor runs for as long as the
 * host, and its command line is readable by every local user. The
 * config holds its own copy. */
static void cx_scrub_password(int argc, char **argv)
{
    static const char opt[] = "--root-password";
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], opt, sizeof(opt) - 1) != 0)
            continue;
        char *v = argv[i] + sizeof(opt) - 1;
        if (*v == '=')
            memset(v + 1, 'x', strlen(v + 1));
        else if (*v == '\0' && i + 1 < argc)
            memset(argv[i + 1], 'x', strlen(argv[i + 1]));
    }
}

/* --root-password-file FILE (- for standard input): its first line
 * becomes the root-password setting. 0, or -1 having said why. */
static int cx_password_from_file(struct config *args)
{
    const char *path = config_get(args, "root-password-file", NULL);
    if (!path)
        return 0;
    if (config_get(args, "root-password", NULL)) {
        fprintf(stderr, "cxapi: give --root-password or --root-password-file, not both\n");
        return -1;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cxapi: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[HOSTDIR_PASSWORD_MAX + 2];
    bool got = fgets(line, sizeof(line), f) != NULL;
    if (f != stdin)
        fclose(f);
    size_t len = got ? strcspn(line, "\r\n") : 0;
    line[len] = '\0';
    if (!len) {
        fprintf(stderr, "cxapi: %s: no password on its first line\n", path);
        return -1;
    }
    config_set(args, "root-password", line);
    explicit_bzero(line, sizeof(line));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        cx_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct config *args = config_new();
    const char *err;
    int rc = 2;
    int parsed = config_parse_args(args, argc - 2, argv + 2, &err);
    cx_scrub_password(argc, argv);
    if (parsed < 0)
        fprintf(stderr, "cxapi: %s\n", err);
    else if (!config_get(args, "state", NULL))
        fprintf(stderr, "cxapi: --state DIR is required\n");
    else if (strcmp(argv[1], "start") == 0)
        rc = cx_password_from_file(args) < 0 ? 2 : cx_start(args);
    else if (strcmp(argv[1], "stop") == 0)
        rc = cx_stop(args);
    else if (strcmp(argv[1], "status") == 0)
        rc = cx_status(args);
    else
        cx_usage(stderr);
    config_free(args);
    return rc;
}
