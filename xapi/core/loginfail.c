/*
 * loginfail.c - failed logins per client, and the body of their report
 * (see loginfail.h).
 */
#include "core/loginfail.h"
#include "hmap.h"
#include "log.h"
#include "mem.h"
#include "xmlrpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the key of a client separates its fields with: a byte that a log
 * field (log_field) never holds. */
#define LOGINFAIL_SEP '\x1f'

struct loginfail_entry {
    unsigned count;
    int64_t last; /* seconds since the epoch */
};

struct loginfail {
    pthread_mutex_t lock;
    struct hmap *clients; /* key: the four fields -> struct loginfail_entry */
    unsigned unknown;     /* failures of clients beyond the table's room */
};

struct loginfail *loginfail_new(void)
{
    struct loginfail *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->clients = hmap_new();
    return f;
}

/* Frees the entries and empties the table; with the lock held. */
static void loginfail_clear(struct loginfail *f)
{
    const char *k;
    void *v;
    for (size_t it = 0; hmap_next(f->clients, &it, &k, &v);)
        free(v);
    hmap_free(f->clients);
    f->clients = hmap_new();
    f->unknown = 0;
}

void loginfail_free(struct loginfail *f)
{
    if (!f)
        return;
    loginfail_clear(f);
    hmap_free(f->clients);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* The key of a client: its fields, each cut as a log field is, joined. */
static void loginfail_key(struct buf *key, const struct loginfail_client *c)
{
    const char *fields[4] = {c->user, c->originator, c->user_agent, c->ip};
    for (int i = 0; i < 4; i++) {
        char cut[LOG_FIELD_BUF];
        if (i)
            buf_putc(key, LOGINFAIL_SEP);
        buf_puts(key, log_field(cut, fields[i] ? fields[i] : ""));
    }
}

void loginfail_record(struct loginfail *f, const struct loginfail_client *client, int64_t now)
{
    struct buf key = BUF_INIT;
    loginfail_key(&key, client);
    pthread_mutex_lock(&f->lock);
    struct loginfail_entry *e = hmap_get(f->clients, key.data);
    if (!e && hmap_count(f->clients) < LOGINFAIL_CLIENTS) {
        e = xcalloc(1, sizeof(*e));
        hmap_put(f->clients, key.data, e);
    }
    if (e) {
        e->count++;
        e->last = now;
    } else {
        f->unknown++;
    }
    pthread_mutex_unlock(&f->lock);
    buf_free(&key);
}

/* One reported client: its key and entry. */
struct loginfail_top {
    const char *key;
    const struct loginfail_entry *e;
};

/* Keeps the LOGINFAIL_TOP clients that failed most, the earlier found
 * first among equals. */
static void loginfail_rank(struct loginfail_top *top, int *n, const char *key,
                           const struct loginfail_entry *e)
{
    int i = *n < LOGINFAIL_TOP ? (*n)++ : LOGINFAIL_TOP;
    while (i > 0 && top[i - 1].e->count < e->count) {
        if (i < LOGINFAIL_TOP)
            top[i] = top[i - 1];
        i--;
    }
    if (i < LOGINFAIL_TOP)
        top[i] = (struct loginfail_top){key, e};
}

/* <label>value</label> for each known field of a client's key. */
static void loginfail_write_client(struct buf *out, const char *key)
{
    static const char *const labels[4] = {"username", "originator", "useragent", "ip"};
    const char *p = key;
    for (int i = 0; i < 4; i++) {
        const char *end = strchr(p, LOGINFAIL_SEP);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            buf_printf(out, "<%s>", labels[i]);
            xmlrpc_write_escaped(out, p, len);
            buf_printf(out, "</%s>\n", labels[i]);
        }
        p += len + (end != NULL);
    }
}

bool loginfail_report(struct loginfail *f, struct buf *out)
{
    pthread_mutex_lock(&f->lock);
    if (hmap_count(f->clients) == 0 && f->unknown == 0) {
        pthread_mutex_unlock(&f->lock);
        return false;
    }
    struct loginfail_top top[LOGINFAIL_TOP];
    int n = 0;
    unsigned long total = f->unknown;
    const char *k;
    void *v;
    for (size_t it = 0; hmap_next(f->clients, &it, &k, &v);) {
        total += ((struct loginfail_entry *)v)->count;
        loginfail_rank(top, &n, k, v);
    }
    buf_puts(out, "<body>\n");
    if (n > 0) {
        buf_printf(out, "<total>%lu</total>\n", total);
        for (int i = 0; i < n; i++) {
            char when[32];
            struct tm tm;
            time_t last = (time_t)top[i].e->last;
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&last, &tm));
            buf_puts(out, "<known>\n");
            loginfail_write_client(out, top[i].key);
            buf_printf(out, "<number>%u</number>\n<date>%s</date>\n</known>\n", top[i].e->count,
                       when);
        }
    }
    if (f->unknown)
        buf_printf(out, "<unknown>%u</unknown>\n", f->unknown);
    buf_puts(out, "</body>");
    loginfail_clear(f);
    pthread_mutex_unlock(&f->lock);
    return true;
}
