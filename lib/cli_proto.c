/*
 * cli_proto.c - the thin CLI protocol's framing and messages (cli_proto.h).
 */
#include "cli_proto.h"
#include "fdio.h"

#include <string.h>

static void cli_put_i32(struct buf *out, int32_t v)
{
    uint32_t u = (uint32_t)v;
    unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                          (unsigned char)(u >> 24)};
    buf_append(out, b, 4);
}

static int32_t cli_get_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

uint32_t cli_frame_len(const unsigned char *head)
{
    return (uint32_t)cli_get_i32(head);
}

static void cli_put_str(struct buf *out, const char *s, size_t len)
{
    cli_put_i32(out, (int32_t)len);
    buf_append(out, s, len);
}

void cli_put_hello(struct buf *out)
{
    buf_append(out, CLI_PROTO_PREFIX, sizeof(CLI_PROTO_PREFIX) - 1);
    cli_put_i32(out, CLI_PROTO_MAJOR);
    cli_put_i32(out, CLI_PROTO_MINOR);
}

int cli_check_hello(const unsigned char *p, int32_t *major, int32_t *minor)
{
    size_t n = sizeof(CLI_PROTO_PREFIX) - 1;
    if (memcmp(p, CLI_PROTO_PREFIX, n) != 0)
        return -1;
    *major = cli_get_i32(p + n);
    *minor = cli_get_i32(p + n + 4);
    return 0;
}

/* Starts a frame: room for its length, patched by cli_frame_end. */
static size_t cli_frame_begin(struct buf *out, enum cli_kind kind, enum cli_tag tag)
{
    size_t at = out->len;
    cli_put_i32(out, 0);
    cli_put_i32(out, kind);
    cli_put_i32(out, tag);
    return at;
}

static void cli_frame_end(struct buf *out, size_t at)
{
    uint32_t len = (uint32_t)(out->len - at - 4);
    unsigned char *p = (unsigned char *)out->data + at;
    p[0] = (unsigned char)len;
    p[1] = (unsigned char)(len >> 8);
    p[2] = (unsigned char)(len >> 16);
    p[3] = (unsigned char)(len >> 24);
}

void cli_put_print(struct buf *out, enum cli_tag tag, const char *s, size_t len)
{
    size_t at = cli_frame_begin(out, CLI_COMMAND, tag);
    cli_put_str(out, s, len);
    cli_frame_end(out, at);
}

void cli_put_http(struct buf *out, enum cli_tag tag, const char *filename, const char *path)
{
    size_t at = cli_frame_begin(out, CLI_COMMAND, tag);
    cli_put_str(out, filename, strlen(filename));
    cli_put_str(out, path, strlen(path));
    cli_frame_end(out, at);
}

void cli_put_prompt(struct buf *out)
{
    cli_frame_end(out, cli_frame_begin(out, CLI_COMMAND, CLI_PROMPT));
}

void cli_put_exit(struct buf *out, int32_t status)
{
    size_t at = cli_frame_begin(out, CLI_COMMAND, CLI_EXIT);
    cli_put_i32(out, status);
    cli_frame_end(out, at);
}

void cli_put_error(struct buf *out, const char *code, const char *const *params, size_t n)
{
    size_t at = cli_frame_begin(out, CLI_COMMAND, CLI_ERROR);
    cli_put_str(out, code, strlen(code));
    cli_put_i32(out, (int32_t)n);
    for (size_t i = 0; i < n; i++)
        cli_put_str(out, params[i], strlen(params[i]));
    cli_frame_end(out, at);
}

void cli_put_response(struct buf *out, enum cli_tag tag)
{
    cli_frame_end(out, cli_frame_begin(out, CLI_RESPONSE, tag));
}

void cli_put_chunk(struct buf *out, uint32_t len)
{
    size_t at = cli_frame_begin(out, CLI_BLOB, CLI_CHUNK);
    cli_put_i32(out, (int32_t)len);
    cli_frame_end(out, at);
}

void cli_put_end(struct buf *out)
{
    cli_frame_end(out, cli_frame_begin(out, CLI_BLOB, CLI_END));
}

/* A cursor over a message body. */
struct cli_cur {
    const unsigned char *p;
    size_t left;
    const char *err;
};

static int cli_take_i32(struct cli_cur *c, int32_t *v)
{
    if (c->left < 4) {
        c->err = "truncated message";
        return -1;
    }
    *v = cli_get_i32(c->p);
    c->p += 4;
    c->left -= 4;
    return 0;
}

static int cli_take_str(struct cli_cur *c, struct arena *a, const char **s, size_t *len)
{
    int32_t n;
    if (cli_take_i32(c, &n) < 0)
        return -1;
    if (n < 0 || (size_t)n > c->left) {
        c->err = n < 0 ? "negative string length" : "truncated message";
        return -1;
    }
    *s = arena_strndup(a, (const char *)c->p, (size_t)n);
    if (len)
        *len = (size_t)n;
    c->p += n;
    c->left -= (size_t)n;
    return 0;
}

/* An Error's parameter list: each item is at least its 4-byte length, so
 * the count is checked against what is left before anything is made. */
static int cli_take_list(struct cli_cur *c, struct arena *a, struct cli_msg *m)
{
    int32_t n;
    if (cli_take_i32(c, &n) < 0)
        return -1;
    if (n < 0 || (size_t)n > c->left / 4) {
        c->err = n < 0 ? "negative list length" : "truncated message";
        return -1;
    }
    const char **items = arena_alloc(a, ((size_t)n + 1) * sizeof(*items));
    for (int32_t i = 0; i < n; i++)
        if (cli_take_str(c, a, &items[i], NULL) < 0)
            return -1;
    items[n] = NULL;
    m->params = items;
    m->n_params = (size_t)n;
    return 0;
}

static int cli_decode_command(struct cli_cur *c, struct arena *a, struct cli_msg *m)
{
    switch (m->tag) {
    case CLI_PRINT:
    case CLI_DEBUG:
    case CLI_LOAD:
    case CLI_PRINT_STDERR:
    case CLI_HTTP_CONNECT:
        return cli_take_str(c, a, &m->s1, &m->s1_len);
    case CLI_HTTP_GET:
    case CLI_HTTP_PUT:
        if (cli_take_str(c, a, &m->s1, &m->s1_len) < 0)
            return -1;
        return cli_take_str(c, a, &m->s2, &m->s2_len);
    case CLI_PROMPT:
        return 0;
    case CLI_EXIT:
        return cli_take_i32(c, &m->n);
    case CLI_ERROR:
        if (cli_take_str(c, a, &m->s1, &m->s1_len) < 0)
            return -1;
        return cli_take_list(c, a, m);
    default:
        c->err = "unknown command tag";
        return -1;
    }
}

int cli_msg_decode(struct arena *a, const unsigned char *p, size_t len, struct cli_msg *m,
                   const char **err)
{
    struct cli_cur c = {p, len, NULL};
    int32_t kind, tag;
    memset(m, 0, sizeof(*m));
    int rc = cli_take_i32(&c, &kind) < 0 || cli_take_i32(&c, &tag) < 0 ? -1 : 0;
    if (rc == 0) {
        m->kind = (enum cli_kind)kind;
        m->tag = (enum cli_tag)tag;
        if (kind == CLI_COMMAND) {
            rc = cli_decode_command(&c, a, m);
        } else if (kind == CLI_RESPONSE) {
            if (tag != CLI_OK && tag != CLI_FAILED && tag != CLI_WAIT) {
                c.err = "unknown response tag";
                rc = -1;
            }
        } else if (kind == CLI_BLOB) {
            if (tag == CLI_CHUNK)
                rc = cli_take_i32(&c, &m->n);
            else if (tag != CLI_END) {
                c.err = "unknown blob tag";
                rc = -1;
            }
            if (rc == 0 && tag == CLI_CHUNK && m->n < 0) {
                c.err = "negative chunk length";
                rc = -1;
            }
        } else {
            c.err = "unknown message kind";
            rc = -1;
        }
    }
    if (rc == 0 && c.left) {
        c.err = "bytes after the message";
        rc = -1;
    }
    if (rc < 0)
        *err = c.err;
    return rc;
}

int cli_read_msg(int fd, struct arena *a, size_t max, struct cli_msg *m, const char **err)
{
    unsigned char head[4];
    if (fd_read_full(fd, head, 4) < 0)
        return -1;
    uint32_t len = cli_frame_len(head);
    if (len > max) {
        *err = "message too large";
        return -2;
    }
    unsigned char *body = arena_alloc(a, len ? len : 1);
    if (fd_read_full(fd, body, len) < 0)
        return -1;
    return cli_msg_decode(a, body, len, m, err) < 0 ? -2 : 0;
}

static const char *const cli_switches[][2] = {
    {"-u", "username"}, {"-pw", "password"}, {"-s", "server"}, {"-h", "server"}, {"-p", "port"},
};

/* The body's lines, each without its newline and trailing CR. */
static char **cli_lines(struct arena *a, char *body, size_t *n_out)
{
    size_t n = 1;
    for (const char *p = body; *p; p++)
        n += *p == '\n';
    char **lines = arena_alloc(a, n * sizeof(*lines));
    n = 0;
    for (char *line = body, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        lines[n++] = line;
    }
    *n_out = n;
    return lines;
}

/* One parameter from args[*i] (and the switch's value after it). */
static int cli_arg_parse(struct arena *a, char **args, size_t n, size_t *i, struct cli_arg *p,
                         const char **why)
{
    char *arg = args[*i];
    if (strncmp(arg, "--", 2) == 0) {
        *p = (struct cli_arg){arg + 2, "true"};
        return 0;
    }
    if (arg[0] == '-') {
        p->key = NULL;
        for (size_t s = 0; s < sizeof(cli_switches) / sizeof(cli_switches[0]); s++)
            if (strcmp(arg, cli_switches[s][0]) == 0)
                p->key = cli_switches[s][1];
        if (!p->key) {
            *why = arena_printf(a, "Unknown switch: %s", arg);
            return -1;
        }
        if (*i + 1 >= n) {
            *why = arena_printf(a, "Switch %s requires a parameter", arg);
            return -1;
        }
        p->value = args[++*i];
        return 0;
    }
    char *eq = strchr(arg, '=');
    *p = (struct cli_arg){arg, ""};
    if (eq) {
        *eq = '\0';
        p->value = eq + 1;
    }
    return 0;
}

int cli_args_parse(struct arena *a, char *body, struct cli_args *out, const char **why)
{
    size_t n, i = 0;
    char **args = cli_lines(a, body, &n);
    memset(out, 0, sizeof(*out));
    if (strncmp(args[0], "session_id=", 11) == 0)
        out->session = args[i++] + 11;
    if (i >= n || !*args[i]) {
        *why = "";
        return -1;
    }
    if (strchr(args[i], '=')) {
        *why = "command name is missing";
        return -1;
    }
    out->cmd = args[i++];
    out->params = arena_zalloc(a, (n - i + 1) * sizeof(*out->params));
    for (; i < n; i++)
        if (*args[i] && cli_arg_parse(a, args, n, &i, &out->params[out->n_params++], why) < 0)
            return -1;
    return 0;
}

const char *cli_tag_name(enum cli_kind kind, enum cli_tag tag)
{
    static const char *const commands[] = {
        [CLI_PRINT] = "Print",
        [CLI_LOAD] = "Load",
        [CLI_PROMPT] = "Prompt",
        [CLI_EXIT] = "Exit",
        [CLI_HTTP_GET] = "HttpGet",
        [CLI_HTTP_PUT] = "HttpPut",
        [CLI_ERROR] = "Error",
        [CLI_DEBUG] = "Debug",
        [CLI_PRINT_STDERR] = "PrintStderr",
        [CLI_HTTP_CONNECT] = "HttpConnect",
    };
    if (kind == CLI_COMMAND && (unsigned)tag < sizeof(commands) / sizeof(commands[0]) &&
        commands[tag])
        return commands[tag];
    if (kind == CLI_RESPONSE)
        return tag == CLI_OK ? "OK" : tag == CLI_FAILED ? "Failed" : "Wait";
    if (kind == CLI_BLOB)
        return tag == CLI_CHUNK ? "Chunk" : "End";
    return "unknown";
}
