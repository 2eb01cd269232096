/*
 * supervise.c - the supervision loop. Signals are handled synchronously
 * with sigtimedwait, so the loop is a plain sequence of "something
 * happened" steps with no handler races. Each daemon runs in its own
 * process group: a Ctrl-C at the terminal reaches only the supervisor,
 * which then stops the daemons in reverse order.
 */
#include "supervisor.h"
#include "buf.h"
#include "hostdir.h"
#include "http_client.h"
#include "ipc.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define SUP_BACKOFF_MAX_S 30
#define SUP_STABLE_S 60     /* up this long: the next death is not a crash loop */
#define SUP_READY_WAIT_S 60 /* for a daemon's API to answer */
#define SUP_STOP_WAIT_S 10  /* after SIGTERM, before SIGKILL */

enum sup_state { SUP_STOPPED, SUP_RUNNING, SUP_BACKOFF };

/* How a daemon shows it is ready: its socket answers GET / with 200,
 * (xenstored) answers an XS_DIRECTORY of "/", or (the internal JSON-RPC
 * daemons, which take only POSTs) answers a JSON-RPC call. */
enum sup_ready { SUP_READY_HTTP, SUP_READY_XENSTORE, SUP_READY_JSONRPC };

struct sup_daemon {
    const char *name;
    const char *socket; /* relative to the run dir */
    enum sup_ready ready;
    pid_t pid;
    enum sup_state state;
    int restarts;
    int backoff_s;
    time_t since;
    time_t restart_at;
};

/* In dependency order; later steps add more daemons before xapi. */
static struct sup_daemon sup_daemons[] = {
    {.name = "xenstored", .socket = "xenstored.sock", .ready = SUP_READY_XENSTORE},
    {.name = "xenopsd", .socket = "xenopsd.sock", .ready = SUP_READY_JSONRPC},
    {.name = "xapi", .socket = "xapi.sock", .ready = SUP_READY_HTTP},
};
#define SUP_N (sizeof(sup_daemons) / sizeof(sup_daemons[0]))

static const char *const sup_state_names[] = {"stopped", "running", "backoff"};

static time_t sup_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void sup_write_status(const struct supervisor *s)
{
    struct buf text = BUF_INIT, path = BUF_INIT, tmp = BUF_INIT;
    time_t wall = time(NULL), mono = sup_now();
    for (size_t i = 0; i < SUP_N; i++) {
        const struct sup_daemon *d = &sup_daemons[i];
        buf_printf(&text, "%s %d %s %d %lld\n", d->name, d->state == SUP_RUNNING ? (int)d->pid : 0,
                   sup_state_names[d->state], d->restarts, (long long)(wall - (mono - d->since)));
    }
    buf_printf(&path, "%s/status", s->run_dir);
    buf_printf(&tmp, "%s/status.tmp", s->run_dir);
    FILE *f = fopen(tmp.data, "we");
    if (f) {
        fputs(text.data, f);
        if (fclose(f) == 0)
            rename(tmp.data, path.data);
    }
    buf_free(&text);
    buf_free(&path);
    buf_free(&tmp);
}

static void sup_child_exec(const struct supervisor *s, const struct sup_daemon *d)
{
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct buf out = BUF_INIT, exe = BUF_INIT, port = BUF_INIT;
    buf_printf(&out, "%s/log/%s.out", s->state_dir, d->name);
    buf_printf(&exe, "%s/%s/%s", s->bin_dir, d->name, d->name);
    buf_printf(&port, "%d", s->port);
    int null = open("/dev/null", O_RDONLY);
    int fd = open(out.data, O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (null < 0 || fd < 0)
        _exit(126);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    char *argv[12];
    int n = 0;
    argv[n++] = (char *)d->name;
    argv[n++] = "--state";
    argv[n++] = (char *)s->state_dir;
    argv[n++] = "--run";
    argv[n++] = (char *)s->run_dir;
    argv[n++] = "--port";
    argv[n++] = port.data;
    if (s->address) {
        argv[n++] = "--address";
        argv[n++] = (char *)s->address;
    }
    argv[n] = NULL;
    execv(exe.data, argv);
    fprintf(stderr, "cxapi: cannot run %s: %s\n", exe.data, strerror(errno));
    _exit(127);
}

static int sup_spawn(struct supervisor *s, struct sup_daemon *d)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_error(d->name, "fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        sup_child_exec(s, d);
    d->pid = pid;
    d->state = SUP_RUNNING;
    d->since = sup_now();
    log_info(d->name, "started, pid %d", (int)pid);
    sup_write_status(s);
    return 0;
}

static void sup_describe_exit(int status, char *out, size_t len)
{
    if (WIFEXITED(status))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "stopped with wait status %d", status);
}

static struct sup_daemon *sup_find_pid(pid_t pid)
{
    for (size_t i = 0; i < SUP_N; i++)
        if (sup_daemons[i].state == SUP_RUNNING && sup_daemons[i].pid == pid)
            return &sup_daemons[i];
    return NULL;
}

/* A daemon died outside a shutdown: schedule its restart. */
static void sup_on_death(struct supervisor *s, struct sup_daemon *d, int status)
{
    char why[128];
    sup_describe_exit(status, why, sizeof(why));
    time_t now = sup_now();
    if (now - d->since >= SUP_STABLE_S || d->backoff_s == 0)
        d->backoff_s = 1;
    else if (d->backoff_s < SUP_BACKOFF_MAX_S)
        d->backoff_s = d->backoff_s * 2 > SUP_BACKOFF_MAX_S ? SUP_BACKOFF_MAX_S : d->backoff_s * 2;
    d->state = SUP_BACKOFF;
    d->pid = 0;
    d->restart_at = now + d->backoff_s;
    log_warn(d->name, "%s after %llds up; restarting in %ds", why, (long long)(now - d->since),
             d->backoff_s);
    sup_write_status(s);
}

static void sup_reap(struct supervisor *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct sup_daemon *d = sup_find_pid(pid);
        if (d)
            sup_on_death(s, d, status);
    }
}

/* Reads exactly len bytes within ms. */
static bool sup_read_full(int fd, void *out, size_t len, int ms)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
            return false;
        ssize_t n = read(fd, (char *)out + got, len - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

/* One XS_DIRECTORY of "/" over plain sockets: the supervisor needs no
 * xenstore client library for this one question. */
static bool sup_answers_xenstore(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct xsd_sockmsg hdr = {XS_DIRECTORY, 1, 0, 2}, reply;
    char req[sizeof(hdr) + 2];
    memcpy(req, &hdr, sizeof(hdr));
    memcpy(req + sizeof(hdr), "/", 2);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
              write(fd, req, sizeof(req)) == (ssize_t)sizeof(req) &&
              sup_read_full(fd, &reply, sizeof(reply), 2000) && reply.type == XS_DIRECTORY &&
              reply.req_id == 1;
    close(fd);
    return ok;
}

/* Any JSON-RPC reply will do, an error included: a daemon that parses a
 * call and answers it is up. The method is one no daemon has. */
static bool sup_answers_jsonrpc(const char *path)
{
    struct ipc_client *c = ipc_client_new(path, 2000);
    struct arena *a = arena_new();
    struct rpc_reply reply = {0};
    const char *err;
    bool ok = ipc_call(c, a, "supervisor.ready", NULL, &reply, &err) == 0;
    arena_free(a);
    ipc_client_free(c);
    return ok;
}

static bool sup_answers(const struct supervisor *s, const struct sup_daemon *d)
{
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/%s", s->run_dir, d->socket);
    if (d->ready != SUP_READY_HTTP) {
        bool ok = d->ready == SUP_READY_XENSTORE ? sup_answers_xenstore(path.data)
                                                 : sup_answers_jsonrpc(path.data);
        buf_free(&path);
        return ok;
    }
    struct http_client *c = http_client_new(NULL, path.data);
    http_client_set_timeout(c, 2000);
    struct http_response resp = {0};
    const char *err;
    bool ok = http_client_get(c, "/", &resp, &err) == 0 && resp.status == 200;
    http_response_free(&resp);
    http_client_free(c);
    buf_free(&path);
    return ok;
}

/* Waits until d answers, or dies, or the wait runs out. */
static int sup_wait_ready(struct supervisor *s, struct sup_daemon *d)
{
    for (int i = 0; i < SUP_READY_WAIT_S * 20; i++) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            sup_on_death(s, d, status);
            return -1;
        }
        if (sup_answers(s, d))
            return 0;
        usleep(50 * 1000);
    }
    log_error(d->name, "did not answer within %ds", SUP_READY_WAIT_S);
    return -1;
}

static void sup_stop_one(struct sup_daemon *d)
{
    if (d->state != SUP_RUNNING)
        return;
    kill(d->pid, SIGTERM);
    int status;
    for (int i = 0; i < SUP_STOP_WAIT_S * 20; i++) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char why[128];
            sup_describe_exit(status, why, sizeof(why));
            log_info(d->name, "stopped (%s)", why);
            d->state = SUP_STOPPED;
            return;
        }
        usleep(50 * 1000);
    }
    log_warn(d->name, "did not stop within %ds of SIGTERM: killing it", SUP_STOP_WAIT_S);
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->state = SUP_STOPPED;
}

static void sup_stop_all(struct supervisor *s)
{
    for (size_t i = SUP_N; i-- > 0;)
        sup_stop_one(&sup_daemons[i]);
    sup_write_status(s);
}

/* A daemon of an earlier supervisor that was killed still holds its lock
 * on this run dir (lib/daemon.c): it is stopped as a supervisor would,
 * SIGTERM then SIGKILL, before a new one starts. 0 once none is left,
 * -1 (logged) when one cannot be stopped: then nothing starts, and the
 * host never runs two of a daemon. */
static int sup_stop_orphan(const char *run_dir, const char *name)
{
    int pid = hostdir_lock_holder(run_dir, name);
    if (pid == 0)
        return 0;
    log_warn(name, "an earlier one (pid %d) still runs on %s: stopping it", pid, run_dir);
    for (int i = 0; i < (SUP_STOP_WAIT_S + 2) * 20; i++) {
        if (pid > 0 && (i == 0 || i == SUP_STOP_WAIT_S * 20))
            kill(pid, i == 0 ? SIGTERM : SIGKILL);
        usleep(50 * 1000);
        int now = hostdir_lock_holder(run_dir, name);
        if (now == 0)
            return 0;
        if (now > 0)
            pid = now;
    }
    log_error(name, "the earlier one (pid %d) would not stop: not starting", pid);
    return -1;
}

int supervisor_stop_orphans(const char *run_dir)
{
    for (size_t i = SUP_N; i-- > 0;) /* as sup_stop_all: xapi first */
        if (sup_stop_orphan(run_dir, sup_daemons[i].name) < 0)
            return -1;
    return 0;
}

static int sup_start_all(struct supervisor *s)
{
    if (supervisor_stop_orphans(s->run_dir) < 0)
        return -1;
    for (size_t i = 0; i < SUP_N; i++)
        if (sup_spawn(s, &sup_daemons[i]) < 0 || sup_wait_ready(s, &sup_daemons[i]) < 0)
            return -1;
    return 0;
}

static void sup_restart_due(struct supervisor *s)
{
    time_t now = sup_now();
    for (size_t i = 0; i < SUP_N; i++) {
        struct sup_daemon *d = &sup_daemons[i];
        if (d->state == SUP_BACKOFF && now >= d->restart_at) {
            d->restarts++;
            sup_spawn(s, d);
        }
    }
}

int supervise(struct supervisor *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_info(NULL, "supervising host in %s (run dir %s)", s->state_dir, s->run_dir);
    if (sup_start_all(s) < 0) {
        log_error(NULL, "start failed; stopping what was started");
        sup_stop_all(s);
        s->on_ready(s, false);
        return 1;
    }
    log_info(NULL, "every daemon is up");
    s->on_ready(s, true);
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info(NULL, "received %s: stopping every daemon", strsignal(sig));
            break;
        }
        if (sig == SIGHUP)
            log_open("cxapi", s->log_path, s->foreground);
        sup_reap(s);
        sup_restart_due(s);
    }
    sup_stop_all(s);
    return 0;
}
