/*
 * xe.c - the command line: a thin client of xapi's POST /cli.
 *
 * xe sends its arguments to the server, one per line, with the user
 * name and password, and then does what the server tells it in the thin
 * CLI protocol (lib/cli_proto.h): prints, asks the user, uploads and
 * downloads files, and exits with the status the server gives. All the
 * commands live in the server, so this program knows none of them.
 *
 * Where it connects: with -s, to that host over TCP (port 80 with
 * --nossl); without, to the local host's xapi.sock (found from --state
 * or $XE_STATE; default ./state, as `make run` makes it), as root on the
 * host needs no password there. Options come from the command line, then
 * $XE_EXTRA_ARGS, then ~/.xe (key=value lines), as upstream's xe reads
 * them. A host that answers HOST_IS_SLAVE sends xe on to its master.
 */
#include "arena.h"
#include "buf.h"
#include "cli_proto.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define XE_MAX_HOPS 3 /* HOST_IS_SLAVE redirections followed */
#define XE_HEARTBEAT_S 300

struct xe {
    const char *server; /* NULL: the local socket */
    int port;           /* 0: 80 */
    const char *user, *password, *password_file, *state;
    const char *traceparent; /* --traceparent: sent as a header */
    bool nossl, debug, debug_on_fail;
    struct buf args;        /* the command line for the server, one per line */
    const char **permitted; /* file names on the command line */
    size_t n_permitted;
    struct buf debug_log; /* --debug-on-fail: shown only when it fails */
    struct arena *mem;    /* the strings above that are not argv's */
};

static void xe_debug(struct xe *xe, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xe_debug(struct xe *xe, const char *fmt, ...)
{
    if (!xe->debug && !xe->debug_on_fail)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (xe->debug)
        vfprintf(stderr, fmt, ap);
    else
        buf_vprintf(&xe->debug_log, fmt, ap);
    va_end(ap);
}

static void xe_usage(void)
{
    fputs("Usage:\n"
          "  xe <command>\n"
          "    [ -s <server> ]            the host (default: this host's xapi.sock)\n"
          "    [ -p <port> ]              its port (default 80 with --nossl)\n"
          "    [ -u <username> -pw <password> | -pwf <password file> ]\n"
          "                               who runs the command (the file: user, then password)\n"
          "    [ --nossl ]                plain HTTP\n"
          "    [ --debug ]                show the conversation with the server\n"
          "    [ --debug-on-fail ]        show it only when the command fails\n"
          "    [ --minimal ]              values only, joined by commas\n"
          "    [ --state <dir> ]          the local host's state directory (or $XE_STATE)\n"
          "    [ <parameter>=<value> ... ]\n"
          "The commands: xe help [--all]; one command: xe help <command>\n",
          stderr);
}

/* A keyword the client keeps for itself; false when it is the server's. */
static bool xe_keyword(struct xe *xe, const char *k, const char *v)
{
    if (strcmp(k, "server") == 0)
        xe->server = v;
    else if (strcmp(k, "port") == 0) {
        char *end;
        long p = strtol(v, &end, 10);
        if (!*v || *end || p < 0 || p > 65535) {
            fputs("Port number must be an integer (0-65535)\n", stderr);
            exit(1);
        }
        xe->port = (int)p;
    } else if (strcmp(k, "username") == 0)
        xe->user = v;
    else if (strcmp(k, "password") == 0)
        xe->password = v;
    else if (strcmp(k, "passwordfile") == 0)
        xe->password_file = v;
    else if (strcmp(k, "nossl") == 0)
        xe->nossl = strcmp(v, "true") == 0;
    else if (strcmp(k, "debug") == 0)
        xe->debug = strcmp(v, "true") == 0;
    else if (strcmp(k, "debugonfail") == 0)
        xe->debug_on_fail = strcmp(v, "true") == 0;
    else if (strcmp(k, "state") == 0)
        xe->state = v;
    else if (strcmp(k, "traceparent") == 0)
        xe->traceparent = v;
    else
        return false;
    return true;
}

/* The options of one source; what is not an option goes to the server. */
static void xe_take_args(struct xe *xe, char **argv, int argc, bool to_server)
{
    static const char *const opts[][2] = {
        {"-s", "server"},    {"-h", "server"},         {"-p", "port"},       {"-u", "username"},
        {"-pw", "password"}, {"-pwf", "passwordfile"}, {"--state", "state"},
    };
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *key = NULL;
        for (size_t o = 0; o < sizeof(opts) / sizeof(opts[0]); o++)
            if (strcmp(a, opts[o][0]) == 0)
                key = opts[o][1];
        if (key && i + 1 < argc) {
            xe_keyword(xe, key, argv[++i]);
            continue;
        }
        if (strcmp(a, "--nossl") == 0 || strcmp(a, "--debug") == 0 ||
            strcmp(a, "--debug-on-fail") == 0) {
            xe_keyword(xe, strcmp(a, "--debug-on-fail") == 0 ? "debugonfail" : a + 2, "true");
            continue;
        }
        const char *eq = strchr(a, '=');
        if (eq) {
            bool mine = xe_keyword(xe, arena_strndup(xe->mem, a, (size_t)(eq - a)), eq + 1);
            if (mine)
                continue;
            if (eq[1]) { /* a file the server may ask to read or write */
                size_t n = xe->n_permitted;
                xe->permitted = arena_realloc(xe->mem, xe->permitted, n * sizeof(char *),
                                              (n + 1) * sizeof(char *));
                xe->permitted[xe->n_permitted++] = eq + 1;
            }
        }
        if (to_server) {
            buf_puts(&xe->args, a);
            buf_putc(&xe->args, '\n');
        }
    }
}

/* ~/.xe: key=value lines, the weakest source. */
static void xe_read_rc(struct xe *xe)
{
    const char *home = getenv("HOME");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/.xe", home ? home : "");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!*line)
            continue;
        if (!eq) {
            fputs("Error parsing rc file. No defaults loaded\n", stderr);
            break;
        }
        *eq = '\0';
        if (!xe_keyword(xe, arena_strdup(xe->mem, line), arena_strdup(xe->mem, eq + 1))) {
            buf_printf(&xe->args, "%s=%s\n", line, eq + 1);
        }
    }
    fclose(f);
}

/* $XE_EXTRA_ARGS: comma-separated arguments ("\," for a comma). */
static void xe_extra_args(struct xe *xe)
{
    const char *extra = getenv("XE_EXTRA_ARGS");
    if (!extra || !*extra)
        return;
    char **items = arena_alloc(xe->mem, (strlen(extra) + 1) * sizeof(*items));
    int n = 0;
    struct buf cur = BUF_INIT;
    for (const char *p = extra;; p++) {
        if (*p == '\\') { /* "\," is a comma in an item; backslashes go, as upstream's */
            if (p[1] == ',')
                buf_putc(&cur, *++p);
        } else if (*p == ',' || !*p) {
            if (cur.len)
                items[n++] = arena_strdup(xe->mem, cur.data);
            buf_reset(&cur);
            if (!*p)
                break;
        } else {
            buf_putc(&cur, *p);
        }
    }
    buf_free(&cur);
    xe_take_args(xe, items, n, true);
}

static void xe_read_password_file(struct xe *xe)
{
    FILE *f = fopen(xe->password_file, "r");
    char user[1024], pw[1024];
    if (!f) {
        fprintf(stderr, "Error opening password file '%s'\n", xe->password_file);
        exit(1);
    }
    if (!fgets(user, sizeof(user), f) || !fgets(pw, sizeof(pw), f)) {
        fputs("Error: password file format: the user name on the first line, the password "
              "on the second\n",
              stderr);
        exit(1);
    }
    fclose(f);
    user[strcspn(user, "\r\n")] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    xe->user = arena_strdup(xe->mem, user);
    xe->password = arena_strdup(xe->mem, pw);
}

/* --- connections --- */

static int xe_connect_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int xe_connect_tcp(struct xe *xe, const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof(service), "%d", port ? port : 80);
    /* [v6-address] as upstream accepts it */
    char bare[256];
    snprintf(bare, sizeof(bare), "%s", host);
    if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
        memmove(bare, bare + 1, strlen(bare));
        bare[strlen(bare) - 1] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(bare, service, &hints, &res);
    if (rc) {
        fprintf(stderr, "Host '%s' not found.\n", host);
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "Unable to contact server %s port %s: %s\n", host, service,
                strerror(errno));
    else
        xe_debug(xe, "Connected to %s port %s\n", host, service);
    return fd;
}

/* The local host's socket. */
static const char *xe_socket_path(struct xe *xe)
{
    static char path[PATH_MAX];
    const char *state = xe->state ? xe->state : getenv("XE_STATE");
    snprintf(path, sizeof(path), "%s/run/xapi.sock", state ? state : "state");
    return path;
}

/* Where the command goes: the server's connection, or -1 (said why). */
static int xe_open(struct xe *xe, const char *server)
{
    if (server)
        return xe_connect_tcp(xe, server, xe->port);
    const char *path = xe_socket_path(xe);
    int fd = xe_connect_unix(path);
    if (fd >= 0) {
        xe_debug(xe, "Connected to %s\n", path);
        return fd;
    }
    xe_debug(xe, "No local host at %s (%s): trying 127.0.0.1\n", path, strerror(errno));
    return xe_connect_tcp(xe, "127.0.0.1", xe->port);
}

/* --- the conversation --- */

struct xe_run {
    struct xe *xe;
    const char *server; /* where this run goes: NULL for the local socket */
    int fd;
    int exit_code;
    char *master; /* HOST_IS_SLAVE's master, to try next */
};

static int xe_send(struct xe_run *r, struct buf *b)
{
    int rc = fd_write_full(r->fd, b->data, b->len);
    buf_reset(b);
    return rc;
}

static bool xe_permitted(struct xe *xe, const char *file)
{
    char want[PATH_MAX], have[PATH_MAX];
    if (!realpath(file, want) && snprintf(want, sizeof(want), "%s", file) < 0)
        return false;
    for (size_t i = 0; i < xe->n_permitted; i++) {
        if (strcmp(xe->permitted[i], file) == 0)
            return true;
        if (realpath(xe->permitted[i], have) && strcmp(have, want) == 0)
            return true;
    }
    return false;
}

/* Load: the file's bytes as one blob. */
static int xe_load(struct xe_run *r, const char *file)
{
    struct buf b = BUF_INIT;
    if (!xe_permitted(r->xe, file)) {
        fprintf(stderr,
                "File not permitted: the host asked for %s, which is not on the command "
                "line.\n",
                file);
        return -2;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > INT32_MAX) {
        if (fd >= 0)
            close(fd);
        cli_put_response(&b, CLI_FAILED);
        int rc = xe_send(r, &b);
        buf_free(&b);
        return rc;
    }
    cli_put_response(&b, CLI_OK);
    cli_put_chunk(&b, (uint32_t)st.st_size);
    int rc = xe_send(r, &b);
    char data[65536];
    for (off_t left = st.st_size; rc == 0 && left > 0;) {
        ssize_t n = read(fd, data, sizeof(data) < (size_t)left ? sizeof(data) : (size_t)left);
        if (n <= 0)
            rc = -1;
        else {
            rc = fd_write_full(r->fd, data, (size_t)n);
            left -= n;
        }
    }
    close(fd);
    cli_put_end(&b);
    if (rc == 0)
        rc = xe_send(r, &b);
    buf_free(&b);
    return rc;
}

/* The host and path of a url the server gives ("/import?..." or
 * "http://host/path"): the host is NULL for our own server. */
static const char *xe_url_path(const char *url, char *host, size_t host_len)
{
    host[0] = '\0';
    const char *p = strstr(url, "://");
    if (!p)
        return url;
    p += 3;
    size_t n = strcspn(p, "/");
    snprintf(host, host_len, "%.*s", (int)n, p);
    return p[n] ? p + n : "/";
}

/* Reads an HTTP response head; returns its status, or -1, and its
 * Content-Length in *length (-1 when it has none). */
static int xe_http_status(int fd, long long *length)
{
    char head[8192];
    size_t len = 0;
    *length = -1;
    while (len + 1 < sizeof(head)) {
        if (read(fd, head + len, 1) != 1)
            return -1;
        len++;
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[len] = '\0';
    for (char *p = strchr(head, '\n'); p; p = strchr(p + 1, '\n'))
        if (strncasecmp(p + 1, "content-length:", 15) == 0)
            *length = atoll(p + 16);
    int status;
    return sscanf(head, "HTTP/%*d.%*d %d", &status) == 1 ? status : -1;
}

/* A transfer's progress on a terminal: a bar on stderr, redrawn when the
 * share done moves by a percent. */
struct xe_progress {
    long long total, done;
    int shown; /* percent drawn, -1: none yet */
    bool on;
};

static void xe_progress_step(struct xe_progress *p, long long n)
{
    p->done += n;
    if (!p->on || p->total <= 0)
        return;
    int pct = (int)(p->done * 100 / p->total);
    if (pct == p->shown)
        return;
    p->shown = pct;
    char bar[51];
    memset(bar, ' ', 50);
    memset(bar, '#', (size_t)(pct / 2));
    bar[50] = '\0';
    fprintf(stderr, "\r[%s] %3d%%", bar, pct);
    if (pct >= 100)
        fputc('\n', stderr);
}

/* A Wait to the host: the client is busy, not gone. */
static int xe_heartbeat(struct xe_run *r)
{
    struct buf b = BUF_INIT;
    cli_put_response(&b, CLI_WAIT);
    int rc = xe_send(r, &b);
    buf_free(&b);
    return rc;
}

/* Copies from one fd to another, sending Wait heartbeats to the server. */
static int xe_copy(struct xe_run *r, int from, int to, long long total)
{
    struct xe_progress progress = {total, 0, -1, isatty(STDERR_FILENO) && total > (1 << 20)};
    char data[65536];
    time_t last = time(NULL);
    int rc = 0;
    for (ssize_t n; rc == 0 && (n = read(from, data, sizeof(data))) != 0;) {
        if (n < 0) {
            rc = errno == EINTR ? 0 : -1;
            continue;
        }
        rc = fd_write_full(to, data, (size_t)n);
        xe_progress_step(&progress, n);
        if (time(NULL) - last >= XE_HEARTBEAT_S) {
            rc = rc ? rc : xe_heartbeat(r);
            last = time(NULL);
        }
    }
    return rc;
}

/* Sends a stream of unknown length (a pipe) as HTTP/1.1 chunks. */
static int xe_copy_chunked(struct xe_run *r, int from, int to)
{
    char data[65536], head[32];
    time_t last = time(NULL);
    for (ssize_t n; (n = read(from, data, sizeof(data))) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        int len = snprintf(head, sizeof(head), "%zx\r\n", (size_t)(n < 0 ? 0 : n));
        if (n < 0 || fd_write_full(to, head, (size_t)len) < 0 ||
            fd_write_full(to, data, (size_t)n) < 0 || fd_write_full(to, "\r\n", 2) < 0)
            return -1;
        if (time(NULL) - last >= XE_HEARTBEAT_S) {
            if (xe_heartbeat(r) < 0)
                return -1;
            last = time(NULL);
        }
    }
    return fd_write_full(to, "0\r\n\r\n", 5);
}

/* After an upload: the host's response ends with "stored" once it has
 * the data on disk; anything else (a reset, "failed") is a failure. */
static bool xe_upload_stored(int fd)
{
    char rest[512];
    size_t len = 0;
    ssize_t n;
    shutdown(fd, SHUT_WR);
    while ((n = read(fd, rest + len, sizeof(rest) - 1 - len)) > 0)
        if ((len += (size_t)n) == sizeof(rest) - 1) /* keep the tail */
            memmove(rest, rest + len / 2, len - len / 2), len -= len / 2;
    rest[len] = '\0';
    return n == 0 && strstr(rest, "stored\n") != NULL;
}

/* Counts what a download writes, to compare with its Content-Length. */
static int xe_download(struct xe_run *r, int from, const char *file, long long length)
{
    int to =
        !*file ? dup(STDOUT_FILENO) : open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (to < 0) {
        fprintf(stderr, "Operation failed. Error: %s: %s\n", file, strerror(errno));
        return -1;
    }
    struct stat before;
    fstat(to, &before);
    int rc = xe_copy(r, from, to, length);
    struct stat after;
    if (rc == 0 && length >= 0 && *file && fstat(to, &after) == 0 &&
        after.st_size - before.st_size != length) {
        fprintf(stderr, "Operation failed. Error: the download of %s broke off\n", file);
        rc = -1;
    }
    close(to);
    return rc;
}

/* HttpPut (upload a file) and HttpGet (download into a file, or to
 * stdout for ""), each on a connection of its own to the host the
 * command runs on (or the URL's); then OK or Failed. A file the command
 * line does not name is never touched: that ends xe (as upstream's). */
static int xe_http(struct xe_run *r, bool put, const char *file, const char *url)
{
    char host[256];
    const char *path = xe_url_path(url, host, sizeof(host));
    if ((put || *file) && !xe_permitted(r->xe, file)) {
        fprintf(stderr,
                "File not permitted: the host asked for %s, which is not on the command "
                "line.\n",
                file);
        return -2;
    }
    int local = -1;
    struct stat st;
    if (put && (local = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "Operation failed. Error: file '%s' does not exist\n", file);
        struct buf b = BUF_INIT;
        cli_put_response(&b, CLI_FAILED);
        xe_send(r, &b);
        buf_free(&b);
        return -2;
    }
    bool ok = false;
    int port = 0; /* a URL's host:port, [v6]:port */
    char *colon = strrchr(host, ':');
    if (colon && (host[0] == '[' ? colon[-1] == ']' : strchr(host, ':') == colon)) {
        port = atoi(colon + 1);
        *colon = '\0';
    }
    int fd = host[0] ? xe_connect_tcp(r->xe, host, port) : xe_open(r->xe, r->server);
    if (fd >= 0) {
        char req[4096];
        long long size = -1, length;
        bool chunked = put && (fstat(local, &st) < 0 || !S_ISREG(st.st_mode));
        if (put && !chunked) {
            size = (long long)st.st_size;
            snprintf(req, sizeof(req), "PUT %s HTTP/1.0\r\nContent-Length: %lld\r\n\r\n", path,
                     size);
        } else if (chunked) {
            snprintf(req, sizeof(req),
                     "PUT %s HTTP/1.1\r\nHost: xe\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n",
                     path);
        } else {
            snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
        }
        xe_debug(r->xe, "%s %s\n", put ? "PUT" : "GET", path);
        /* the response's head comes first, an upload's body after it */
        if (fd_write_full(fd, req, strlen(req)) == 0) {
            int status = xe_http_status(fd, &length);
            if (status != 200)
                fprintf(stderr, "The server answered HTTP %d to %s\n", status, path);
            else if (!put)
                ok = xe_download(r, fd, file, length) == 0;
            else
                ok = (chunked ? xe_copy_chunked(r, local, fd) : xe_copy(r, local, fd, size)) == 0 &&
                     xe_upload_stored(fd);
        }
        close(fd);
    }
    if (local >= 0)
        close(local);
    struct buf b = BUF_INIT;
    cli_put_response(&b, ok ? CLI_OK : CLI_FAILED);
    int rc = xe_send(r, &b);
    buf_free(&b);
    return rc;
}

/* Prompt: a line from the terminal, as a blob. */
static int xe_prompt(struct xe_run *r)
{
    char line[4096];
    if (!fgets(line, sizeof(line), stdin)) {
        fputs("Lost connection to the server.\n",
              stderr); /* as upstream says at the end of input */
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    struct buf b = BUF_INIT;
    cli_put_chunk(&b, (uint32_t)strlen(line));
    buf_puts(&b, line);
    cli_put_end(&b);
    int rc = xe_send(r, &b);
    buf_free(&b);
    return rc;
}

static void xe_error(struct xe_run *r, const struct cli_msg *m)
{
    if (strcmp(m->s1, "HOST_IS_SLAVE") == 0 && m->n_params >= 1 && m->params[0][0]) {
        free(r->master);
        r->master = strdup(m->params[0]);
        return;
    }
    fprintf(stderr, "Error code: %s\nError parameters: ", m->s1);
    for (size_t i = 0; i < m->n_params; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", m->params[i]);
    fputc('\n', stderr);
}

/* Before the protocol: the server's hello, or an HTTP reply (an error,
 * or not a CLI server at all). Returns 0, or -1 after saying why. */
static int xe_hello(struct xe_run *r)
{
    unsigned char hello[CLI_PROTO_HELLO_LEN];
    if (fd_read_full(r->fd, hello, sizeof(hello)) < 0) {
        fputs("Lost connection to the server.\n", stderr);
        return -1;
    }
    int32_t major, minor;
    if (cli_check_hello(hello, &major, &minor) < 0) {
        if (memcmp(hello, "HTTP/", 5) == 0) {
            char line[256];
            size_t n = strcspn((char *)hello, "\r\n");
            snprintf(line, sizeof(line), "%.*s", (int)n, (char *)hello);
            fprintf(stderr, "Error: the server refused the command: %s\n", line);
        } else {
            fputs("Failed to contact a running management agent.\n"
                  "Try specifying a server name and port.\n",
                  stderr);
        }
        return -1;
    }
    xe_debug(r->xe, "Server has protocol version %d.%d. Client has %d.%d\n", major, minor,
             CLI_PROTO_MAJOR, CLI_PROTO_MINOR);
    if (major != CLI_PROTO_MAJOR) {
        fprintf(stderr, "Protocol version mismatch: the server has %d.%d.\n", major, minor);
        return -1;
    }
    struct buf b = BUF_INIT;
    cli_put_hello(&b);
    int rc = xe_send(r, &b);
    buf_free(&b);
    return rc;
}

/* One command on one server: its exit status, or -1 when the
 * conversation broke off. */
static int xe_converse(struct xe_run *r)
{
    struct buf req = BUF_INIT;
    struct xe *xe = r->xe;
    buf_printf(&req, "POST /cli HTTP/1.0\r\nUser-agent: xe-cli/Unix/%d.%d\r\noriginator: cli\r\n",
               CLI_PROTO_MAJOR, CLI_PROTO_MINOR);
    const char *baggage = getenv("BAGGAGE");
    if (xe->traceparent && !strpbrk(xe->traceparent, "\r\n"))
        buf_printf(&req, "traceparent: %s\r\n", xe->traceparent);
    if (baggage && !strpbrk(baggage, "\r\n"))
        buf_printf(&req, "baggage: %s\r\n", baggage);
    buf_printf(&req, "content-length: %zu\r\n\r\n", xe->args.len ? xe->args.len - 1 : 0);
    buf_append(&req, xe->args.data, xe->args.len ? xe->args.len - 1 : 0);
    int rc = xe_send(r, &req);
    buf_free(&req);
    if (rc < 0 || xe_hello(r) < 0)
        return -1;
    for (;;) {
        struct arena *a = arena_new();
        struct cli_msg m;
        const char *err = NULL;
        rc = cli_read_msg(r->fd, a, CLI_PROTO_MAX_MSG, &m, &err);
        if (rc < 0) {
            fprintf(stderr,
                    rc == -1 ? "Lost connection to the server.\n"
                             : "Unexpected message from server: %s\n",
                    err);
            arena_free(a);
            return -1;
        }
        xe_debug(xe, "Read: %s\n", cli_tag_name(m.kind, m.tag));
        int done = -2;
        if (m.kind != CLI_COMMAND) {
            fprintf(stderr, "Unexpected message from server: %s\n", cli_tag_name(m.kind, m.tag));
            done = -1;
        } else if (m.tag == CLI_PRINT) {
            fwrite(m.s1, 1, m.s1_len, stdout);
            fputc('\n', stdout);
            fflush(stdout);
        } else if (m.tag == CLI_PRINT_STDERR) {
            fwrite(m.s1, 1, m.s1_len, stderr);
        } else if (m.tag == CLI_DEBUG) {
            xe_debug(xe, "debug from server: %s\n", m.s1);
        } else if (m.tag == CLI_EXIT) {
            done = m.n;
        } else if (m.tag == CLI_ERROR) {
            xe_error(r, &m);
        } else if (m.tag == CLI_PROMPT) {
            done = xe_prompt(r) < 0 ? -1 : -2;
        } else if (m.tag == CLI_LOAD) {
            int sent = xe_load(r, m.s1);
            done = sent == -2 ? 1 : sent < 0 ? -1 : -2;
        } else if (m.tag == CLI_HTTP_PUT || m.tag == CLI_HTTP_GET) {
            int sent = xe_http(r, m.tag == CLI_HTTP_PUT, m.s1, m.s2);
            done = sent == -2 ? 1 : sent < 0 ? -1 : -2;
        } else { /* HttpConnect: consoles arrive with their handlers */
            struct buf b = BUF_INIT;
            fputs("Error: this xe cannot connect to consoles yet\n", stderr);
            cli_put_response(&b, CLI_FAILED);
            done = xe_send(r, &b) < 0 ? -1 : -2;
            buf_free(&b);
        }
        arena_free(a);
        if (done != -2)
            return done;
    }
}

/* Runs the command, following HOST_IS_SLAVE to the master it names (on
 * the same port): the exit status, or -1. */
static int xe_run_command(struct xe *xe)
{
    const char *server = xe->server;
    for (int hop = 0; hop <= XE_MAX_HOPS; hop++) {
        /* never TLS to this machine itself, as upstream's xe */
        if (server && !xe->nossl && strcmp(server, "127.0.0.1") != 0) {
            fprintf(stderr,
                    "Error: this xe speaks plain HTTP only for now: add --nossl to reach "
                    "%s (TLS arrives with stunnel on the hosts)\n",
                    server);
            return 1;
        }
        struct xe_run r = {.xe = xe, .server = server, .fd = xe_open(xe, server)};
        if (r.fd < 0)
            return 1;
        int status = xe_converse(&r);
        close(r.fd);
        if (!r.master) /* what a command said when it failed was shown */
            return status;
        server = arena_strdup(xe->mem, r.master);
        free(r.master);
        xe_debug(xe, "The host is a slave: trying its master %s\n", server);
    }
    fprintf(stderr, "Error: the pool's master could not be reached (HOST_IS_SLAVE %s)\n", server);
    return 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-version") == 0) {
            printf("ThinCLI protocol: %d.%d\n", CLI_PROTO_MAJOR, CLI_PROTO_MINOR);
            return 0;
        }
        if (strcmp(argv[i], "-help") == 0 || strcmp(argv[i], "--help") == 0) {
            xe_usage();
            return 0;
        }
    }
    struct xe xe = {.user = "root", .password = "null", .args = BUF_INIT, .mem = arena_new()};
    /* weakest first: each later source overrides */
    xe_read_rc(&xe);
    struct buf rc_args = xe.args;
    xe.args = (struct buf)BUF_INIT;
    xe_extra_args(&xe);
    struct buf extra = xe.args;
    xe.args = (struct buf)BUF_INIT;
    xe_take_args(&xe, argv + 1, argc - 1, true);
    if (!xe.args.len) {
        xe_usage();
        buf_free(&rc_args);
        buf_free(&extra);
        arena_free(xe.mem);
        return 0;
    }
    buf_append(&xe.args, extra.data ? extra.data : "", extra.len);
    buf_append(&xe.args, rc_args.data ? rc_args.data : "", rc_args.len);
    buf_free(&extra);
    buf_free(&rc_args);
    if (xe.password_file)
        xe_read_password_file(&xe);
    /* root with no password is what the local socket takes as root */
    buf_printf(&xe.args, "username=%s\npassword=%s\n", xe.user, xe.password);
    int status = xe_run_command(&xe);
    if (status != 0 && xe.debug_on_fail && xe.debug_log.len)
        fprintf(stderr, "\nDebug info:\n\n%s", xe.debug_log.data);
    buf_free(&xe.args);
    buf_free(&xe.debug_log);
    arena_free(xe.mem);
    return status < 0 ? 1 : status;
}
