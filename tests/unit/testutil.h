/*
 * testutil.h - small helpers shared by the unit tests, above all the two
 * codecs' (JSON and XML-RPC) tests, which check the same properties of a
 * writer and a parser. Include after <cmocka.h>.
 */
#ifndef CX_TESTUTIL_H
#define CX_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "value.h"

/* A codec's value writer (json_write, xmlrpc_write_value), and a parser
 * that fails the test unless text parses to a value. */
typedef void (*test_write_fn)(struct buf *out, const struct val *v);
typedef struct val *(*test_parse_fn)(struct arena *a, const char *text);

/* err is a parser's message: one line of printable ASCII after prefix. */
static inline void assert_error_line(const char *err, const char *prefix)
{
    assert_non_null(err);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error without the prefix \"%s\": %s", prefix, err);
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            fail_msg("error is not one line of ASCII: %s", err);
}

/* Appends n copies of ch. */
static inline void buf_fill(struct buf *b, char ch, size_t n)
{
    buf_reserve(b, n);
    memset(b->data + b->len, ch, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* b's text becomes head, n copies of ch, then tail; returns it. */
static inline const char *buf_set_padded(struct buf *b, const char *head, char ch, size_t n,
                                         const char *tail)
{
    buf_reset(b);
    buf_puts(b, head);
    buf_fill(b, ch, n);
    buf_puts(b, tail);
    return b->data;
}

/* Moves what b holds (text without NUL bytes) into the arena. */
static inline const char *arena_text(struct arena *a, struct buf *b)
{
    char *s = arena_strndup(a, b->data, b->len);
    assert_int_equal(strlen(s), b->len);
    buf_free(b);
    return s;
}

/* write's text for v, in the arena. */
static inline const char *text_of(struct arena *a, test_write_fn write, const struct val *v)
{
    struct buf b = BUF_INIT;
    write(&b, v);
    return arena_text(a, &b);
}

/* Parses text, writes it back and expects the same text, then the same
 * value from that. */
static inline void assert_text_roundtrip(const char *text, test_write_fn write, test_parse_fn parse)
{
    struct arena *a = arena_new();
    struct val *v = parse(a, text);
    const char *out = text_of(a, write, v);
    assert_string_equal(out, text);
    assert_true(val_equal(v, parse(a, out)));
    arena_free(a);
}

/* The string of len bytes at raw goes out as want (unless NULL) and comes
 * back byte for byte, NUL-terminated; returns what came back. */
static inline struct val *assert_string_written(struct arena *a, test_write_fn write,
                                                test_parse_fn parse, const char *raw, size_t len,
                                                const char *want)
{
    const char *text = text_of(a, write, val_string_len(a, raw, len));
    if (want)
        assert_string_equal(text, want);
    struct val *back = parse(a, text);
    assert_int_equal(back->type, VAL_STRING);
    assert_int_equal(back->u.str.len, len);
    assert_memory_equal(back->u.str.ptr, raw, len);
    assert_int_equal(back->u.str.ptr[len], '\0');
    return back;
}

/* open depth times, inner, then close depth times, in the arena. */
static inline const char *nested(struct arena *a, const char *open, const char *inner,
                                 const char *close, int depth)
{
    struct buf b = BUF_INIT;
    for (int i = 0; i < depth; i++)
        buf_puts(&b, open);
    buf_puts(&b, inner);
    for (int i = 0; i < depth; i++)
        buf_puts(&b, close);
    return arena_text(a, &b);
}

enum test_codec { CODEC_JSON, CODEC_XMLRPC };

/* Doubles as each codec writes them, and back bit for bit: one formatter
 * (buf_format_double) serves both, but JSON marks integral values with
 * ".0" and has no inf or nan (NULL: not that codec's), and XML-RPC frames
 * the number in <value><double>. */
static inline void assert_doubles_written(enum test_codec codec, test_write_fn write,
                                          test_parse_fn parse)
{
    static const struct {
        double f;
        const char *text[2]; /* by codec */
    } cases[] = {
        {1.0, {"1.0", "1"}},
        {0.1, {"0.1", "0.1"}},
        {2.3, {"2.3", "2.3"}},
        {60.1, {"60.1", "60.1"}},
        {-2.5, {"-2.5", "-2.5"}},
        {0.0, {"0.0", "0"}},
        {-0.0, {"-0.0", "-0"}},
        {123456789.0, {"123456789.0", "123456789"}},
        {0.30000000000000004, {"0.30000000000000004", "0.30000000000000004"}},
        {1e300, {"1e+300", "1e+300"}},
        {1e16, {"1e+16", "1e+16"}},
        {-1.5e-7, {"-1.5e-07", "-1.5e-07"}},
        {1.7976931348623157e308, {"1.7976931348623157e+308", "1.7976931348623157e+308"}},
        {5e-324, {"4.94065645841247e-324", "4.94065645841247e-324"}},
        {INFINITY, {NULL, "inf"}},
        {-INFINITY, {NULL, "-inf"}},
        {NAN, {NULL, "nan"}},
    };
    struct arena *a = arena_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double f = cases[i].f;
        const char *want = cases[i].text[codec];
        if (!want)
            continue;
        struct buf expect = BUF_INIT;
        buf_printf(&expect, codec == CODEC_XMLRPC ? "<value><double>%s</double></value>" : "%s",
                   want);
        const char *text = text_of(a, write, val_float(a, f));
        assert_string_equal(text, expect.data);
        buf_free(&expect);
        struct val *back = parse(a, text);
        assert_int_equal(back->type, VAL_FLOAT);
        if (isnan(f))
            assert_true(isnan(back->u.f));
        else
            assert_memory_equal(&back->u.f, &f, sizeof(f));
    }
    arena_free(a);
}

/* Any finite double goes out and comes back bit for bit (20000 of them,
 * pseudo-random bit patterns). */
static inline void assert_doubles_roundtrip(test_write_fn write, test_parse_fn parse)
{
    struct arena *a = arena_new();
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double f;
        memcpy(&f, &x, sizeof(f));
        if (!isfinite(f))
            continue;
        const char *text = text_of(a, write, val_float(a, f));
        struct val *back = parse(a, text);
        if (back->type != VAL_FLOAT || memcmp(&back->u.f, &f, sizeof(f)) != 0)
            fail_msg("%a written as %s read back differently", f, text);
    }
    arena_free(a);
}

#endif
