/*
 * cli_print.c - records and lists as xe prints them, byte for byte as
 * upstream's CLI: a record is one "key: value" line per field, the first
 * key padded on the right and every later key on the left to the longest
 * key plus four, and each record is followed by empty lines; --minimal
 * prints only the first value of each record, all of them on one line
 * joined by commas, with ',' and '\' escaped.
 */
#include "cli/cli.h"

#include <string.h>

/* Escapes ',' and '\\' for --minimal. */
static void cli_escape_minimal(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == ',' || *s == '\\')
            buf_putc(out, '\\');
        buf_putc(out, *s);
    }
}

/* --minimal: the values are joined across everything the command prints. */
static void cli_minimal_add(struct cli_ctx *c, const char *value)
{
    if (c->minimal_any)
        buf_putc(&c->minimal_out, ',');
    c->minimal_any = true;
    cli_escape_minimal(&c->minimal_out, value);
}

static void cli_pad(struct buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_putc(b, ' ');
}

/* One record: its lines and an empty one; the client's Print adds a
 * newline of its own, so two empty lines follow every record, as they
 * do upstream. */
static void cli_record_text(struct buf *b, struct cli_kv *kv, size_t n)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(kv[i].key) > longest)
            longest = strlen(kv[i].key);
    size_t width = longest + 4;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(kv[i].key);
        if (i == 0) {
            buf_puts(b, kv[i].key);
            cli_pad(b, width - len);
        } else {
            cli_pad(b, width - len);
            buf_puts(b, kv[i].key);
        }
        buf_puts(b, ": ");
        buf_puts(b, kv[i].value);
        buf_putc(b, '\n');
    }
    buf_putc(b, '\n');
    if (!n) /* upstream's empty record is one more newline */
        buf_putc(b, '\n');
}

void cli_print_records(struct cli_ctx *c, struct cli_kv *const *recs, const size_t *n,
                       size_t n_recs)
{
    if (c->minimal) {
        /* upstream prints nothing at all when a record has no field */
        for (size_t r = 0; r < n_recs; r++)
            if (!n[r])
                return;
        for (size_t r = 0; r < n_recs; r++)
            cli_minimal_add(c, recs[r][0].value);
        return;
    }
    struct buf b = BUF_INIT;
    for (size_t r = 0; r < n_recs; r++) {
        buf_reset(&b);
        cli_record_text(&b, recs[r], n[r]);
        cli_print(c, b.data);
    }
    buf_free(&b);
}

void cli_print_list(struct cli_ctx *c, const char *const *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (c->minimal)
            cli_minimal_add(c, values[i]);
        else
            cli_print(c, values[i]);
    }
}
