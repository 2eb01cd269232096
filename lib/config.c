/*
 * config.c - settings as an ordered list of key/value pairs. Lists are
 * tiny (tens of keys), so a linear search beats a hash in code and speed;
 * errors are formatted into an arena the config owns.
 */
#include "config.h"
#include "arena.h"
#include "buf.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config_entry {
    char *key;
    char *value;
};

struct config {
    struct config_entry *entries;
    size_t n, cap;
    struct arena *errors;
};

struct config *config_new(void)
{
    struct config *c = xcalloc(1, sizeof(*c));
    c->errors = arena_new();
    return c;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    arena_free(c->errors);
    free(c);
}

static struct config_entry *config_find(const struct config *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].key, key) == 0)
            return &c->entries[i];
    return NULL;
}

void config_set(struct config *c, const char *key, const char *value)
{
    struct config_entry *e = config_find(c, key);
    if (e) {
        free(e->value);
        e->value = xstrdup(value);
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->entries = xrealloc(c->entries, c->cap * sizeof(*c->entries));
    }
    c->entries[c->n].key = xstrdup(key);
    c->entries[c->n].value = xstrdup(value);
    c->n++;
}

bool config_next(const struct config *c, size_t *it, const char **key, const char **value)
{
    if (*it >= c->n)
        return false;
    *key = c->entries[*it].key;
    *value = c->entries[*it].value;
    (*it)++;
    return true;
}

const char *config_get(const struct config *c, const char *key, const char *def)
{
    const struct config_entry *e = config_find(c, key);
    return e ? e->value : def;
}

static bool config_key_valid(const char *k, size_t len)
{
    if (len == 0 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
              ch == '.'))
            return false;
    }
    return true;
}

static void config_trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
        (*e)--;
}

/* One line, without its newline. Returns NULL or the reason it is bad. */
static const char *config_parse_line(struct config *c, const char *s, const char *end)
{
    config_trim(&s, &end);
    if (s == end || *s == '#')
        return NULL;
    if (memchr(s, '\0', (size_t)(end - s)))
        return "NUL byte in line";
    const char *eq = memchr(s, '=', (size_t)(end - s));
    if (!eq)
        return "expected key = value";
    const char *ks = s, *ke = eq, *vs = eq + 1, *ve = end;
    config_trim(&ks, &ke);
    config_trim(&vs, &ve);
    if (!config_key_valid(ks, (size_t)(ke - ks)))
        return "bad key (allowed: a-z 0-9 _ - .)";
    if (ve > vs && *vs == '"') {
        if (ve - vs < 2 || ve[-1] != '"')
            return "unterminated quoted value";
        vs++, ve--;
    }
    char *key = xstrndup(ks, (size_t)(ke - ks));
    char *value = xstrndup(vs, (size_t)(ve - vs));
    config_set(c, key, value);
    free(key);
    free(value);
    return NULL;
}

int config_parse(struct config *c, const char *name, const char *text, size_t len, const char **err)
{
    const char *p = text, *end = text + len;
    for (unsigned line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *why = config_parse_line(c, p, le);
        if (why) {
            *err = arena_printf(c->errors, "%s:%u: %s", name, line, why);
            return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int config_load_file(struct config *c, const char *path, bool optional, const char **err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (optional && errno == ENOENT)
            return 0;
        *err = arena_printf(c->errors, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct buf text = BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&text, chunk, n);
    int rc = ferror(f) ? -1 : 0;
    fclose(f);
    if (rc < 0)
        *err = arena_printf(c->errors, "%s: read error", path);
    else
        rc = config_parse(c, path, text.data ? text.data : "", text.len, err);
    buf_free(&text);
    return rc;
}

int config_parse_args(struct config *c, int argc, char **argv, const char **err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            *err = arena_printf(c->errors, "unexpected argument '%s'", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        if (!config_key_valid(a, klen)) {
            *err = arena_printf(c->errors, "bad option '%s'", argv[i]);
            return -1;
        }
        char *key = xstrndup(a, klen);
        const char *value = "true";
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            value = argv[++i];
        config_set(c, key, value);
        free(key);
    }
    return 0;
}

int config_get_int(struct config *c, const char *key, long long def, long long min, long long max,
                   long long *out, const char **err)
{
    const char *v = config_get(c, key, NULL);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end != '\0' || x < min || x > max) {
        *err =
            arena_printf(c->errors, "%s: '%s' is not an integer in [%lld, %lld]", key, v, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int config_get_bool(struct config *c, const char *key, bool def, bool *out, const char **err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const char *v = config_get(c, key, NULL);
    if (!v) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    *err = arena_printf(c->errors, "%s: '%s' is not a boolean", key, v);
    return -1;
}

static int config_write_file(const char *path, const struct buf *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    ssize_t n = text->len ? write(fd, text->data, text->len) : 0;
    int rc = (n == (ssize_t)text->len && fsync(fd) == 0) ? 0 : -1;
    if (close(fd) != 0)
        rc = -1;
    return rc;
}

int config_save(const struct config *c, const char *path, int mode)
{
    struct buf text = BUF_INIT;
    for (size_t i = 0; i < c->n; i++) {
        if (strchr(c->entries[i].value, '\n')) {
            buf_free(&text);
            errno = EINVAL;
            return -1;
        }
        buf_printf(&text, "%s = \"%s\"\n", c->entries[i].key, c->entries[i].value);
    }
    struct buf tmp = BUF_INIT;
    buf_printf(&tmp, "%s.tmp", path);
    int rc = config_write_file(tmp.data, &text, mode);
    if (rc == 0)
        rc = rename(tmp.data, path);
    buf_free(&text);
    buf_free(&tmp);
    return rc;
}

struct config *config_load_daemon(int argc, char **argv, const char *name, const char **err)
{
    struct config *cfg = config_new();
    if (config_parse_args(cfg, argc - 1, argv + 1, err) < 0)
        return cfg;
    const char *state = config_get(cfg, "state", NULL);
    if (!state) {
        *err = "--state DIR is required";
        return cfg;
    }
    struct buf path = BUF_INIT;
    buf_printf(&path, "%s/%s.conf", state, name);
    /* The flags again after the file, so that they win. */
    if (config_load_file(cfg, path.data, true, err) == 0)
        config_parse_args(cfg, argc - 1, argv + 1, err);
    buf_free(&path);
    return cfg;
}
