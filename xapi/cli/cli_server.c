/*
 * cli_server.c - POST /cli: the thin CLI protocol's server side.
 *
 * The request body is the command line, one argument per line. Once it
 * is read, the server takes the socket from the HTTP server, says hello
 * (cli_proto.h), reads the client's, and from then on speaks only the
 * protocol: the command's output as Print and PrintStderr messages, and
 * at the end Exit with the status. A client that sends something the
 * protocol does not have, or goes away, ends the conversation; nothing
 * it sends can outlive it.
 *
 * Who runs the command: the session_id= line, or username= and
 * password= through session.login_with_password (so throttling and
 * external authentication apply), or, on xapi.sock with no credentials
 * of its own, root on this host (as upstream trusts its Unix socket).
 */
#include "cli/cli.h"
#include "cli_proto.h"
#include "fdio.h"
#include "clock.h"
#include "core/module.h"
#include "db/db.h"
#include "log.h"
#include "mem.h"
#include "valout.h"
#include "xmlrpc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The whole command line: upstream's xapi takes up to 200 KiB; a little
 * more here, and a larger body is refused before the protocol starts. */
#define CLI_MAX_BODY (1024 * 1024)
/* How long the client may keep us waiting: a Prompt waits for a person. */
#define CLI_READ_TIMEOUT_S 600
#define CLI_WRITE_TIMEOUT_S 60
/* Output is sent once this much is pending, and before every read. */
#define CLI_FLUSH_AT (64 * 1024)
/* Conversations at once: each holds a thread of the front door. Those
 * over the network leave room for the local socket's, and one address
 * may hold only a few. */
#define CLI_MAX_CONVERSATIONS 1024
#define CLI_MAX_REMOTE 768
#define CLI_MAX_PER_ADDRESS 32
/* A client has this long for its hello, before anything is known of it. */
#define CLI_HELLO_TIMEOUT_S 10

/* The conversations under way: their sockets, for xapi's stop to end
 * (the HTTP server no longer knows them once they are taken). */
struct cli_conns {
    pthread_mutex_t lock;
    int fds[CLI_MAX_CONVERSATIONS];
    char addrs[CLI_MAX_CONVERSATIONS][64]; /* the peer without its port; "" for xapi.sock */
    size_t n;
    bool stopping; /* under lock: no new conversation */
};

/* The address of a peer ("ADDR:PORT", "[ADDR]:PORT", "unix") without
 * its port. */
static void cli_peer_address(char *out, size_t size, const char *peer, bool local)
{
    snprintf(out, size, "%s", local ? "" : peer);
    char *colon = strrchr(out, ':');
    if (!local && colon)
        *colon = '\0';
}

/* Adds fd; false when xapi stops, or too many talk at once over the
 * network, or from one address. The local socket always gets in (its
 * connections are bounded by the HTTP server's own limit). */
static bool cli_conns_add(struct cli_conns *cc, int fd, const char *addr)
{
    pthread_mutex_lock(&cc->lock);
    size_t same = 0, remote = 0;
    for (size_t i = 0; i < cc->n; i++) {
        remote += cc->addrs[i][0] != '\0';
        same += *addr && strcmp(cc->addrs[i], addr) == 0;
    }
    bool ok = !cc->stopping && cc->n < CLI_MAX_CONVERSATIONS &&
              (!*addr || (remote < CLI_MAX_REMOTE && same < CLI_MAX_PER_ADDRESS));
    if (ok) {
        cc->fds[cc->n] = fd;
        snprintf(cc->addrs[cc->n++], sizeof(cc->addrs[0]), "%s", addr);
    }
    pthread_mutex_unlock(&cc->lock);
    return ok;
}

static void cli_conns_remove(struct cli_conns *cc, int fd)
{
    pthread_mutex_lock(&cc->lock);
    for (size_t i = 0; i < cc->n; i++)
        if (cc->fds[i] == fd) {
            cc->n--;
            cc->fds[i] = cc->fds[cc->n];
            memcpy(cc->addrs[i], cc->addrs[cc->n], sizeof(cc->addrs[0]));
            break;
        }
    pthread_mutex_unlock(&cc->lock);
}

static int cli_start(struct xapi *x)
{
    x->cli = xcalloc(1, sizeof(*x->cli));
    pthread_mutex_init(&x->cli->lock, NULL);
    return 0;
}

/* Ends every conversation: a command blocked on its client (a Prompt, an
 * upload) returns, and its thread with it. */
static void cli_quiesce(struct xapi *x)
{
    pthread_mutex_lock(&x->cli->lock);
    x->cli->stopping = true;
    for (size_t i = 0; i < x->cli->n; i++)
        shutdown(x->cli->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&x->cli->lock);
}

static void cli_free(struct xapi *x)
{
    if (!x->cli)
        return;
    pthread_mutex_destroy(&x->cli->lock);
    free(x->cli);
    x->cli = NULL;
}

/* The frames not sent yet: one per connection, so per thread. */
static _Thread_local struct buf *cli_out;

static void cli_flush(struct cli_ctx *c)
{
    if (!cli_out || !cli_out->len)
        return;
    if (!c->gone && fd_write_full(c->fd, cli_out->data, cli_out->len) < 0) {
        c->gone = true;
        log_info(c->log_ctx, "xe: the client went away");
    }
    buf_reset(cli_out);
}

static void cli_sent(struct cli_ctx *c)
{
    if (cli_out->len >= CLI_FLUSH_AT)
        cli_flush(c);
}

void cli_print_always(struct cli_ctx *c, const char *text)
{
    cli_put_print(cli_out, CLI_PRINT, text, strlen(text));
    cli_sent(c);
}

void cli_print(struct cli_ctx *c, const char *text)
{
    if (!c->minimal) /* only the values, as upstream's --minimal */
        cli_print_always(c, text);
}

void cli_print_stderr(struct cli_ctx *c, const char *text)
{
    cli_put_print(cli_out, CLI_PRINT_STDERR, text, strlen(text));
    cli_sent(c);
}

int cli_fail(struct cli_ctx *c, const char *fmt, ...)
{
    struct buf b = BUF_INIT;
    buf_puts(&b, "Error: ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_putc(&b, '\n');
    cli_print_stderr(c, b.data);
    char f[LOG_FIELD_BUF];
    log_info(c->log_ctx, "xe %s failed: %s", log_field(f, c->cmd ? c->cmd : ""), b.data + 7);
    buf_free(&b);
    c->failed = true;
    return -1;
}

/* A parameter of an error as xe shows it: a ref by its object's uuid and
 * name, "UUID (NAME)", as upstream shows them. */
static const char *cli_error_param(struct cli_ctx *c, const char *p)
{
    if (strncmp(p, "OpaqueRef:", 10) != 0)
        return p;
    const char *shown = p;
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get_any(c->x->db, p);
    const struct api_class *k = o ? &api_classes[o->cls] : NULL;
    if (k && k->uuid_field >= 0) {
        const char *uuid = db_obj_str(o, API_FIELD_ID(o->cls, k->uuid_field));
        shown = k->name_label_field >= 0
                    ? arena_printf(c->a, "%s (%s)", uuid,
                                   db_obj_str(o, API_FIELD_ID(o->cls, k->name_label_field)))
                    : arena_strdup(c->a, uuid);
    }
    db_read_unlock(c->x->db);
    return shown;
}

int cli_api_error(struct cli_ctx *c, const struct val *error)
{
    size_t n = error->u.arr.n ? error->u.arr.n - 1 : 0;
    const char *code = n || error->u.arr.n ? val_str(error->u.arr.items[0]) : "INTERNAL_ERROR";
    const char **params = arena_alloc(c->a, (n + 1) * sizeof(*params));
    for (size_t i = 0; i < n; i++)
        params[i] = cli_error_param(c, val_str(error->u.arr.items[i + 1]));
    char f[LOG_FIELD_BUF], g[LOG_FIELD_BUF];
    log_info(c->log_ctx, "xe %s failed: %s", log_field(f, c->cmd ? c->cmd : ""),
             log_field(g, code));
    c->failed = true;
    const struct api_error *e = NULL;
    for (int i = 0; i < api_n_errors && !e; i++)
        if (strcmp(api_errors[i].code, code) == 0)
            e = &api_errors[i];
    const char *text = cli_error_text(code);
    if (!text && e) /* every code of the schema gets the layout scripts read */
        text = arena_printf(c->a, "The server reported %s.", code);
    if (c->collect && strcmp(code, "HOST_IS_SLAVE") != 0) { /* one of several: for the caller */
        struct buf b = BUF_INIT;
        buf_puts(&b, text ? text : code);
        for (size_t i = 0; e && (i < (size_t)e->n_params || i < n); i++)
            buf_printf(&b, "\n%s: %s", i < (size_t)e->n_params ? e->params[i] : "<extra>",
                       i < n ? params[i] : "<unknown>");
        for (size_t i = 0; !e && i < n; i++)
            buf_printf(&b, "%s%s", i ? ", " : " ", params[i]);
        c->collected = arena_strdup(c->a, b.data);
        buf_free(&b);
        return -1;
    }
    if (!e || strcmp(code, "HOST_IS_SLAVE") == 0) { /* xe follows this one */
        cli_put_error(cli_out, code, params, n);
        cli_sent(c);
        return -1;
    }
    struct buf b = BUF_INIT;
    buf_printf(&b, "%s\n", text);
    cli_print_stderr(c, b.data);
    size_t names = (size_t)e->n_params;
    for (size_t i = 0; i < names || i < n; i++) {
        buf_reset(&b);
        buf_printf(&b, "%s: %s\n", i < names ? e->params[i] : "<extra>",
                   i < n ? params[i] : "<unknown>");
        cli_print_stderr(c, b.data);
    }
    buf_free(&b);
    return -1;
}

/* Upstream's answer to a command line it cannot use: the problem, and
 * where to look. */
static void cli_usage_error(struct cli_ctx *c, const char *what, const char *detail)
{
    struct buf b = BUF_INIT;
    if (what)
        buf_printf(&b, "%s: %s\n", what, detail);
    else
        buf_printf(&b, "%s\n", detail);
    cli_print_stderr(c, b.data);
    cli_print_stderr(c, "For usage run: 'xe help'\n");
    char f[LOG_FIELD_BUF];
    log_info(c->log_ctx, "xe: %s", log_field(f, b.data));
    buf_free(&b);
    c->failed = true;
}

const char *cli_param(struct cli_ctx *c, const char *key)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (strcmp(c->params[i].key, key) == 0) {
            c->params[i].used = true;
            return c->params[i].value;
        }
    return NULL;
}

/* A boolean as upstream reads one: true, t, yes, y, 1; false, f, no,
 * n, 0. 1 or 0, or -1 for anything else. */
static int cli_bool(const char *v)
{
    static const char *const yes[] = {"true", "t", "yes", "y", "1"};
    static const char *const no[] = {"false", "f", "no", "n", "0"};
    for (size_t i = 0; i < 5; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

bool cli_flag(struct cli_ctx *c, const char *key)
{
    const char *v = cli_param(c, key);
    return v && cli_bool(v) == 1;
}

/* The switches every command may be given must say yes or no. */
static bool cli_flags_ok(struct cli_ctx *c)
{
    static const char *const flags[] = {"force",    "multiple", "minimal", "all",
                                        "progress", "paused",   "live"};
    for (size_t i = 0; i < c->n_params; i++)
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
            if (strcmp(c->params[i].key, flags[k]) == 0 && cli_bool(c->params[i].value) < 0) {
                cli_fail(c, "parameter '%s' must be true or false, not '%s'", flags[k],
                         c->params[i].value);
                return false;
            }
    return true;
}

bool cli_may_read(struct cli_ctx *c, int cls)
{
    struct xapi_call call = {.x = c->x, .a = c->a, .roles = c->roles};
    return xapi_may_read_class(&call, cls);
}

bool cli_client_gone(struct cli_ctx *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
    if (!c->gone && poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
        c->gone = true;
    return c->gone;
}

/* --progress: the share of the task done, as upstream draws it on
 * stderr (the client's terminal), redrawn in place. */
static void cli_progress_bar(struct cli_ctx *c, double progress)
{
    static const char spin[] = "|/-\\";
    int pct = (int)(progress * 100);
    char hashes[71];
    int n = (int)(progress * 70);
    n = n < 0 ? 0 : n > 70 ? 70 : n;
    memset(hashes, '#', (size_t)n);
    hashes[n] = '\0';
    char line[128];
    snprintf(line, sizeof(line), "\r %3d%% %c %s", pct, spin[(pct < 0 ? 0 : pct) % 4], hashes);
    cli_print_stderr(c, line);
    cli_flush(c);
}

/* The task's state, read under the lock: its status and progress, and
 * once it has ended (ended), its result and error copied into c's
 * arena; false when it is gone. Returns the generation seen in *gen. */
static bool cli_task_state(struct cli_ctx *c, const char *task, bool *ended, double *progress,
                           const char **result, struct val **error, uint64_t *gen)
{
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get(c->x->db, API_C_task, task);
    if (o) {
        *ended = strcmp(db_obj_str(o, API_F_task_status), "pending") != 0;
        *progress = db_obj_float(o, API_F_task_progress);
        if (*ended) {
            *result = strcmp(db_obj_str(o, API_F_task_status), "success") == 0
                          ? arena_strdup(c->a, db_obj_str(o, API_F_task_result))
                          : NULL;
            *error = val_copy(c->a, db_obj_field(o, API_F_task_error_info));
        }
    }
    *gen = db_generation(c->x->db);
    db_read_unlock(c->x->db);
    return o != NULL;
}

/* A call on the task itself (cancel, destroy), never tracked. */
static void cli_task_call(struct cli_ctx *c, int msg, struct val *task)
{
    bool progress = c->progress;
    c->progress = false;
    cli_call(c, msg, task, NULL);
    c->progress = progress;
}

/* A call run as a task (Async.), its progress drawn until it ends; then
 * its result, as cli_call's. A client that goes away cancels the task. */
static struct val *cli_track(struct cli_ctx *c, const struct api_message *m, struct val *params)
{
    struct rpc_call call = {.method = arena_printf(c->a, "Async.%s", m->wire_name),
                            .params = params};
    struct rpc_reply r = xapi_dispatch(c->x, c->a, &call, c->log_ctx, &c->client);
    if (r.error) {
        cli_api_error(c, r.error);
        return NULL;
    }
    const char *task = val_str(r.value), *result = NULL;
    struct val *error = NULL, *tref = val_string(c->a, task);
    double progress = 0;
    bool ended = false;
    int shown = -1;
    uint64_t gen;
    struct db_classes tasks = {{0}};
    db_classes_add(&tasks, API_C_task);
    while (cli_task_state(c, task, &ended, &progress, &result, &error, &gen)) {
        if ((int)(progress * 100) != shown) {
            shown = (int)(progress * 100);
            cli_progress_bar(c, progress);
        }
        if (ended)
            break;
        if (cli_client_gone(c) || atomic_load(&c->x->quiescing)) {
            cli_task_call(c, API_M_task_cancel, tref);
            return NULL;
        }
        db_wait_for(c->x->db, &tasks, gen, clock_now_ms() + 500, NULL, NULL);
    }
    cli_print_stderr(c, "\n");
    struct val *value = NULL;
    const char *err = NULL;
    if (result && (!*result || xmlrpc_parse_value(c->a, result, strlen(result), &value, &err) < 0))
        value = val_string(c->a, result);
    cli_task_call(c, API_M_task_destroy, tref);
    if (!value)
        cli_api_error(c, error && error->type == VAL_ARRAY ? error : val_array(c->a));
    return value;
}

struct val *cli_call(struct cli_ctx *c, int msg, ...)
{
    const struct api_message *m = &api_messages[msg];
    struct val *params = val_array(c->a);
    val_array_push(c->a, params, val_string(c->a, c->session));
    va_list ap;
    va_start(ap, msg);
    for (struct val *v; (v = va_arg(ap, struct val *));)
        val_array_push(c->a, params, v);
    va_end(ap);
    if (c->progress && m->has_async)
        return cli_track(c, m, params);
    struct rpc_call call = {.method = m->wire_name, .params = params};
    struct rpc_reply r = xapi_dispatch(c->x, c->a, &call, c->log_ctx, &c->client);
    if (r.error) {
        cli_api_error(c, r.error);
        return NULL;
    }
    return cli_whole(c, r.value);
}

struct val *cli_whole(struct cli_ctx *c, struct val *v)
{
    if (v->type != VAL_STREAM && !v->has_stream)
        return v;
    struct buf b = BUF_INIT;
    struct val_out o;
    val_out_init(&o, VAL_WIRE_XMLRPC, &b);
    val_out_value(&o, v);
    struct val *whole = NULL;
    const char *err = NULL;
    if (o.failed || o.error || xmlrpc_parse_value(c->a, b.data, b.len, &whole, &err) < 0)
        whole = NULL;
    buf_free(&b);
    return whole ? whole : val_nil(c->a);
}

/* --- the command line --- */

/* The command line into c: its name and parameters. */
static int cli_parse(struct cli_ctx *c, char *body, const char **session, const char **why)
{
    struct cli_args args;
    if (cli_args_parse(c->a, body, &args, why) < 0)
        return -1;
    *session = args.session;
    c->cmd = args.cmd;
    c->params = arena_zalloc(c->a, (args.n_params + 1) * sizeof(*c->params));
    for (size_t i = 0; i < args.n_params; i++)
        c->params[i] = (struct cli_param){args.params[i].key, args.params[i].value, false};
    c->n_params = args.n_params;
    return 0;
}

/* Whether a parameter's value stays out of the log: whatever names a
 * password, a secret's value or a secret, an auth's config:pass, a
 * url (it may carry credentials), the old and new passwords of
 * user-password-change, a plugin's args and an update token, as
 * upstream hides them. */
static bool cli_secret_param(const char *cmd, const char *k)
{
    size_t cl = strlen(cmd);
    return strstr(k, "password") || strcasestr(k, "secret") || strcmp(k, "url") == 0 ||
           (strcasestr(cmd, "secret") && strcmp(k, "value") == 0) ||
           (cl >= 4 && strcmp(cmd + cl - 4, "auth") == 0 && strcmp(k, "config:pass") == 0) ||
           (strcmp(cmd, "user-password-change") == 0 &&
            (strcmp(k, "old") == 0 || strcmp(k, "new") == 0)) ||
           (strcmp(cmd, "host-call-plugin") == 0 && strncmp(k, "args", 4) == 0) ||
           (strcmp(cmd, "pool-sync-updates") == 0 && strcmp(k, "token") == 0);
}

/* The log line of a command, without secrets. */
static void cli_log_command(struct cli_ctx *c)
{
    struct buf b = BUF_INIT;
    for (size_t i = 0; i < c->n_params; i++) {
        const char *k = c->params[i].key;
        buf_printf(&b, " %s=%s", k, cli_secret_param(c->cmd, k) ? "(omitted)" : c->params[i].value);
    }
    char f[LOG_FIELD_BUF], g[LOG_FIELD_BUF];
    log_info(c->log_ctx, "xe %s%s from %s", log_field(f, c->cmd),
             log_field(g, b.data ? b.data : ""), c->client.peer);
    buf_free(&b);
}

/* The session the command runs as; NULL after reporting why not. Sets
 * *own when it was made here (and must be ended). */
static const char *cli_login(struct cli_ctx *c, const char *session, bool *own)
{
    *own = false;
    if (session) {
        if (!session_check(c->x, session, &c->roles)) {
            struct val *e = val_array(c->a);
            val_array_push(c->a, e, val_string(c->a, "SESSION_INVALID"));
            val_array_push(c->a, e, val_string(c->a, session));
            cli_api_error(c, e);
            return NULL;
        }
        return session;
    }
    const char *user = cli_param(c, "username");
    const char *pw = cli_param(c, "password");
    bool no_credentials =
        !user || !*user || (strcmp(user, "root") == 0 && (!pw || !*pw || strcmp(pw, "null") == 0));
    if (c->client.local && no_credentials) {
        const char *s = session_open_local(c->x, c->a, "cli", c->log_ctx);
        if (!s) {
            cli_fail(c, "could not open a session");
            return NULL;
        }
        *own = true;
        c->roles = API_ROLES_ALL;
        return s;
    }
    struct rpc_call call = {.method = "session.login_with_password", .params = val_array(c->a)};
    val_array_push(c->a, call.params, val_string(c->a, user ? user : ""));
    val_array_push(c->a, call.params, val_string(c->a, pw ? pw : ""));
    val_array_push(c->a, call.params, val_string(c->a, "1.0"));
    val_array_push(c->a, call.params, val_string(c->a, "cli"));
    struct rpc_reply r = xapi_dispatch(c->x, c->a, &call, c->log_ctx, &c->client);
    if (r.error) {
        const char *code = val_str(r.error->u.arr.items[0]);
        if (strcmp(code, "SESSION_AUTHENTICATION_FAILED") == 0)
            cli_usage_error(c, NULL,
                            user && *user ? "Authentication failed"
                                          : "Username/password must be specified");
        else
            cli_api_error(c, r.error);
        return NULL;
    }
    const char *s = val_str(r.value);
    if (!session_check(c->x, s, &c->roles)) {
        cli_fail(c, "the new session ended at once");
        return NULL;
    }
    *own = true;
    return s;
}

static void cli_logout(struct cli_ctx *c, const char *session)
{
    struct rpc_call call = {.method = "session.logout", .params = val_array(c->a)};
    val_array_push(c->a, call.params, val_string(c->a, session));
    xapi_dispatch(c->x, c->a, &call, c->log_ctx, &c->client);
}

/* Runs the command line once the protocol is up. */
static void cli_run(struct cli_ctx *c, char *body)
{
    const char *session = NULL, *why = NULL;
    if (cli_parse(c, body, &session, &why) < 0) {
        cli_usage_error(c, "Syntax error", why);
        return;
    }
    if (!cli_flags_ok(c))
        return;
    c->minimal = cli_flag(c, "minimal");
    c->progress = cli_flag(c, "progress");
    cli_log_command(c);
    struct cli_cmd cmd;
    if (!cli_cmd_find(c->a, c->cmd, &cmd)) {
        cli_usage_error(c, "Unknown command", c->cmd);
        return;
    }
    /* help needs no session: it says what exists, not what is there. */
    bool own = false;
    if (cmd.fn && strcmp(cmd.name, "help") != 0) {
        const char *reqd = cmd.reqd ? cmd.reqd : "";
        for (const char *p = reqd; *p;) {
            size_t len = strcspn(p, ",");
            char *key = arena_strndup(c->a, p, len);
            if (!cli_param(c, key)) {
                cli_usage_error(c, "Required parameter not found", key);
                return;
            }
            p += len + (p[len] == ',');
        }
        if (!(c->session = cli_login(c, session, &own)))
            return;
        c->client.proven = true;
    }
    c->cc = cmd.cc;
    cmd.fn(c);
    if (c->minimal && !c->failed)
        cli_print_always(c, c->minimal_out.data ? c->minimal_out.data : "");
    if (own)
        cli_logout(c, c->session);
}

/* Blocking reads and writes with deadlines, for the conversation. */
static void cli_socket_setup(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval rt = {CLI_READ_TIMEOUT_S, 0}, wt = {CLI_WRITE_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof(rt));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof(wt));
}

/* The hellos: ours, then the client's, which must be of major 0. */
static int cli_hello(struct cli_ctx *c, const struct buf *pending)
{
    struct buf hello = BUF_INIT;
    cli_put_hello(&hello);
    int rc = fd_write_full(c->fd, hello.data, hello.len);
    buf_free(&hello);
    unsigned char theirs[CLI_PROTO_HELLO_LEN];
    int32_t major, minor;
    /* a client that did not wait for ours: its hello came with the body */
    size_t early = pending->len < sizeof(theirs) ? pending->len : sizeof(theirs);
    if (early)
        memcpy(theirs, pending->data, early);
    if (pending->len > sizeof(theirs)) {
        log_info(c->log_ctx, "xe from %s: sent more than its hello before ours", c->client.peer);
        return -1;
    }
    /* the whole hello within the deadline, however it is split */
    int64_t deadline = clock_now_ms() + CLI_HELLO_TIMEOUT_S * 1000;
    for (size_t got = early; rc == 0 && got < sizeof(theirs);) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int64_t left = deadline - clock_now_ms();
        ssize_t n = left > 0 && poll(&p, 1, (int)left) > 0
                        ? read(c->fd, theirs + got, sizeof(theirs) - got)
                        : -1;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            got += (size_t)n;
    }
    if (rc < 0) {
        log_info(c->log_ctx, "xe from %s: went away before its hello", c->client.peer);
        return -1;
    }
    if (cli_check_hello(theirs, &major, &minor) < 0 || major != CLI_PROTO_MAJOR) {
        log_info(c->log_ctx, "xe from %s: not a thin CLI client of version %d.x", c->client.peer,
                 CLI_PROTO_MAJOR);
        return -1;
    }
    return 0;
}

static void cli_handler(struct xapi *x, struct http_req *req, const char *log_ctx)
{
    struct buf body = BUF_INIT;
    int rc = http_req_read_body_all(req, &body, CLI_MAX_BODY);
    if (rc < 0) {
        http_req_close_after(req);
        if (rc == -2) {
            log_info(log_ctx, "xe from %s: command line larger than %d bytes", http_req_peer(req),
                     CLI_MAX_BODY);
            static const char msg[] = "the command line is too long\n";
            http_reply(req, 413, "text/plain", msg, sizeof(msg) - 1);
        }
        buf_free(&body);
        return;
    }
    struct cli_ctx c = {.x = x, .a = arena_new(), .log_ctx = log_ctx};
    c.client.local = http_req_is_unix(req);
    c.client.peer = arena_strdup(c.a, http_req_peer(req));
    const char *ua = http_req_header(req, "User-Agent");
    c.client.user_agent = ua ? arena_strdup(c.a, ua) : NULL;
    struct buf pending = BUF_INIT;
    c.fd = http_req_take_socket(req, &pending);
    c.client.fd = c.fd;
    cli_socket_setup(c.fd);
    struct buf out = BUF_INIT;
    cli_out = &out;
    char addr[64];
    cli_peer_address(addr, sizeof(addr), c.client.peer, c.client.local);
    bool counted = cli_conns_add(x->cli, c.fd, addr);
    if (!counted)
        log_info(log_ctx,
                 "xe from %s: refused: xapi is stopping, or too many conversations are "
                 "under way (from there, or in all)",
                 c.client.peer);
    if (counted && cli_hello(&c, &pending) == 0) {
        cli_run(&c, body.data ? body.data : "");
        cli_put_exit(cli_out, c.failed ? 1 : 0);
        cli_flush(&c);
    }
    cli_out = NULL;
    buf_free(&out);
    buf_free(&c.minimal_out);
    if (counted)
        cli_conns_remove(x->cli, c.fd);
    buf_free(&pending);
    shutdown(c.fd, SHUT_WR);
    close(c.fd);
    arena_free(c.a);
    buf_free(&body);
}

int cli_expect_ok(struct cli_ctx *c)
{
    cli_flush(c);
    for (;;) {
        struct cli_msg m;
        const char *err = NULL;
        struct arena *scratch = arena_new(); /* heartbeats may come by the million */
        int rc = c->gone ? -1 : cli_read_msg(c->fd, scratch, 4096, &m, &err);
        if (rc == -2)
            log_info(c->log_ctx, "xe: the client sent a malformed message: %s", err);
        bool wait = rc == 0 && m.kind == CLI_RESPONSE && m.tag == CLI_WAIT;
        bool ok = rc == 0 && m.kind == CLI_RESPONSE && m.tag == CLI_OK;
        arena_free(scratch);
        if (rc < 0) {
            c->gone = true;
            return -1;
        }
        if (!wait) /* else a heartbeat */
            return ok ? 0 : -1;
    }
}

int cli_http_transfer(struct cli_ctx *c, bool put, const char *file, const char *url)
{
    cli_put_http(cli_out, put ? CLI_HTTP_PUT : CLI_HTTP_GET, file ? file : "", url);
    return cli_expect_ok(c);
}

/* The longest answer to a Prompt. */
#define CLI_MAX_ANSWER 4096

const char *cli_prompt(struct cli_ctx *c)
{
    cli_put_prompt(cli_out);
    cli_flush(c);
    struct cli_msg m;
    const char *err = "";
    if (c->gone || cli_read_msg(c->fd, c->a, 64, &m, &err) < 0 || m.kind != CLI_BLOB ||
        m.tag != CLI_CHUNK || m.n > CLI_MAX_ANSWER) {
        c->gone = true;
        log_info(c->log_ctx, "xe: no answer to the prompt %s", err);
        return NULL;
    }
    size_t len = (size_t)m.n;
    char *answer = arena_alloc(c->a, len + 1);
    if (fd_read_full(c->fd, answer, len) < 0 || cli_read_msg(c->fd, c->a, 64, &m, &err) < 0 ||
        m.kind != CLI_BLOB || m.tag != CLI_END) {
        c->gone = true;
        log_info(c->log_ctx, "xe: the answer to the prompt broke off %s", err);
        return NULL;
    }
    answer[len] = '\0';
    char *start = answer;
    while (*start == ' ' || *start == '\t')
        start++;
    for (char *p = start; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t n = strlen(start);
    while (n && (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r' ||
                 start[n - 1] == '\n'))
        start[--n] = '\0';
    return start;
}

static const struct xapi_http_route cli_routes[] = {
    {"POST", "/cli", cli_handler, false},
    {NULL, NULL, NULL, false},
};

const struct xapi_module cli_module = {
    .name = "cli",
    .routes = cli_routes,
    .start = cli_start,
    .quiesce = cli_quiesce,
    .free = cli_free,
};
