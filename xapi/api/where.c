/*
 * where.c - the get_all_records_where filter language: a one-token
 * lookahead recursive-descent parser into a tree in the arena, and its
 * evaluation against one record. See where.h for the language.
 *
 * 'and' and 'or' chains become one node with a list of operands rather than
 * a left-deep tree, so the tree is only as deep as the nesting of ( and
 * 'not', which the parser bounds; evaluation recurses no deeper than that.
 */
#include "api/where.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"

enum tok {
    T_END,
    T_TRUE,
    T_FALSE,
    T_NOT,
    T_AND,
    T_OR,
    T_FIELD,
    T_LPAREN,
    T_RPAREN,
    T_EQ,
    T_NEQ,
    T_STRING,
};

enum kind {
    W_TRUE,
    W_FALSE,
    W_NOT,
    W_AND,
    W_OR,
    W_EQ,
    W_NEQ,
};

struct where_value {
    bool is_field;
    const char *text; /* the literal, or the field's name */
    size_t len;
    const char *alt_name; /* field name with "__" as "_", or NULL */
};

struct where_expr {
    enum kind kind;
    union {
        const struct where_expr *sub; /* W_NOT */
        struct {
            const struct where_expr **items;
            size_t n;
        } list; /* W_AND, W_OR */
        struct {
            struct where_value lhs, rhs;
        } cmp; /* W_EQ, W_NEQ */
    } u;
};

struct parser {
    struct arena *a;
    const char *text;
    size_t pos; /* where the lexer reads next */
    enum tok tok;
    size_t tok_pos;  /* offset of the current token */
    const char *str; /* T_STRING: the unescaped content */
    size_t str_len;
    int depth;
    const char *err;
};

static const char *tok_name(enum tok t)
{
    switch (t) {
    case T_END:
        return "end of input";
    case T_TRUE:
        return "'true'";
    case T_FALSE:
        return "'false'";
    case T_NOT:
        return "'not'";
    case T_AND:
        return "'and'";
    case T_OR:
        return "'or'";
    case T_FIELD:
        return "'field'";
    case T_LPAREN:
        return "'('";
    case T_RPAREN:
        return "')'";
    case T_EQ:
        return "'='";
    case T_NEQ:
        return "'<>'";
    case T_STRING:
        return "a string";
    }
    return "?";
}

static int fail(struct parser *p, size_t pos, const char *what)
{
    if (!p->err)
        p->err = arena_printf(p->a, "where: %s at offset %zu", what, pos);
    return -1;
}

static int fail_found(struct parser *p, const char *expected)
{
    char *msg = arena_printf(p->a, "expected %s, found %s", expected, tok_name(p->tok));
    return fail(p, p->tok_pos, msg);
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Reads a double-quoted string whose opening quote is at p->pos. */
static int lex_string(struct parser *p)
{
    const char *s = p->text + p->pos + 1;
    size_t n = 0;
    /* First pass: find the end and the unescaped length. */
    const char *q = s;
    for (;;) {
        if (*q == '\0')
            return fail(p, p->pos, "unterminated string");
        if (*q == '"')
            break;
        if (*q == '\\') {
            if (q[1] != '"' && q[1] != '\\') {
                if (q[1] == '\0')
                    return fail(p, p->pos, "unterminated string");
                return fail(p, (size_t)(q - p->text),
                            "unknown escape in string (only \\\" and \\\\)");
            }
            q++;
        }
        q++;
        n++;
    }
    char *out = arena_alloc(p->a, n + 1);
    size_t j = 0;
    for (const char *r = s; r < q; r++) {
        if (*r == '\\')
            r++;
        out[j++] = *r;
    }
    out[j] = '\0';
    p->str = out;
    p->str_len = n;
    p->pos = (size_t)(q + 1 - p->text);
    return 0;
}

/* Advances to the next token. */
static int next(struct parser *p)
{
    const char *t = p->text;
    while (t[p->pos] == ' ' || t[p->pos] == '\t' || t[p->pos] == '\n' || t[p->pos] == '\r')
        p->pos++;
    p->tok_pos = p->pos;
    char c = t[p->pos];
    if (c == '\0') {
        p->tok = T_END;
        return 0;
    }
    if (c == '(' || c == ')' || c == '=') {
        p->tok = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_EQ;
        p->pos++;
        return 0;
    }
    if (c == '<' && t[p->pos + 1] == '>') {
        p->tok = T_NEQ;
        p->pos += 2;
        return 0;
    }
    if (c == '"') {
        p->tok = T_STRING;
        return lex_string(p);
    }
    if (is_word_char(c)) {
        static const struct {
            const char *word;
            enum tok tok;
        } keywords[] = {
            {"true", T_TRUE}, {"false", T_FALSE}, {"not", T_NOT},
            {"and", T_AND},   {"or", T_OR},       {"field", T_FIELD},
        };
        size_t n = 0;
        while (is_word_char(t[p->pos + n]))
            n++;
        for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
            if (strlen(keywords[i].word) == n && memcmp(keywords[i].word, t + p->pos, n) == 0) {
                p->tok = keywords[i].tok;
                p->pos += n;
                return 0;
            }
        }
        char *msg = arena_printf(p->a, "unknown keyword '%.*s%s'", n > 32 ? 32 : (int)n, t + p->pos,
                                 n > 32 ? "..." : "");
        return fail(p, p->pos, msg);
    }
    char *msg;
    if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        msg = arena_printf(p->a, "unexpected character '%c'", c);
    else
        msg = arena_printf(p->a, "unexpected byte 0x%02x", (unsigned char)c);
    return fail(p, p->pos, msg);
}

static struct where_expr *node(struct parser *p, enum kind k)
{
    struct where_expr *e = arena_zalloc(p->a, sizeof(*e));
    e->kind = k;
    return e;
}

static int parse_value(struct parser *p, struct where_value *v)
{
    memset(v, 0, sizeof(*v));
    if (p->tok == T_FIELD) {
        if (next(p) < 0)
            return -1;
        if (p->tok != T_STRING)
            return fail_found(p, "a field name in double quotes");
        v->is_field = true;
        if (strstr(p->str, "__")) {
            char *alt = arena_alloc(p->a, p->str_len + 1);
            size_t j = 0;
            for (size_t i = 0; i < p->str_len; i++) {
                alt[j++] = p->str[i];
                if (p->str[i] == '_' && p->str[i + 1] == '_')
                    i++;
            }
            alt[j] = '\0';
            v->alt_name = alt;
        }
    } else if (p->tok != T_STRING) {
        return fail_found(p, "a value (field \"name\" or a string)");
    }
    v->text = p->str;
    v->len = p->str_len;
    return next(p);
}

static const struct where_expr *parse_or(struct parser *p);

static int enter(struct parser *p)
{
    if (p->depth >= WHERE_MAX_DEPTH) {
        char *msg = arena_printf(p->a, "expression nested deeper than %d", WHERE_MAX_DEPTH);
        return fail(p, p->tok_pos, msg);
    }
    p->depth++;
    return 0;
}

static const struct where_expr *parse_unary(struct parser *p)
{
    struct where_expr *e;
    switch (p->tok) {
    case T_TRUE:
    case T_FALSE:
        e = node(p, p->tok == T_TRUE ? W_TRUE : W_FALSE);
        return next(p) < 0 ? NULL : e;
    case T_NOT:
        if (enter(p) < 0 || next(p) < 0)
            return NULL;
        e = node(p, W_NOT);
        if (!(e->u.sub = parse_unary(p)))
            return NULL;
        p->depth--;
        return e;
    case T_LPAREN: {
        if (enter(p) < 0 || next(p) < 0)
            return NULL;
        const struct where_expr *inner = parse_or(p);
        if (!inner)
            return NULL;
        if (p->tok != T_RPAREN) {
            fail_found(p, "')' or an operator");
            return NULL;
        }
        p->depth--;
        return next(p) < 0 ? NULL : inner;
    }
    case T_FIELD:
    case T_STRING:
        e = node(p, W_EQ);
        if (parse_value(p, &e->u.cmp.lhs) < 0)
            return NULL;
        if (p->tok != T_EQ && p->tok != T_NEQ) {
            fail_found(p, "'=' or '<>'");
            return NULL;
        }
        e->kind = p->tok == T_EQ ? W_EQ : W_NEQ;
        if (next(p) < 0 || parse_value(p, &e->u.cmp.rhs) < 0)
            return NULL;
        return e;
    default:
        fail_found(p, "an expression");
        return NULL;
    }
}

/* operand (op operand)*, as one node when op occurs at all. */
static const struct where_expr *parse_chain(struct parser *p, enum tok op, enum kind k,
                                            const struct where_expr *(*operand)(struct parser *))
{
    const struct where_expr *first = operand(p);
    if (!first || p->tok != op)
        return first;
    struct where_expr *e = node(p, k);
    size_t cap = 4;
    e->u.list.items = arena_alloc(p->a, cap * sizeof(*e->u.list.items));
    e->u.list.items[e->u.list.n++] = first;
    while (p->tok == op) {
        if (next(p) < 0)
            return NULL;
        const struct where_expr *sub = operand(p);
        if (!sub)
            return NULL;
        if (e->u.list.n == cap) {
            e->u.list.items = arena_realloc(p->a, e->u.list.items, cap * sizeof(*e->u.list.items),
                                            2 * cap * sizeof(*e->u.list.items));
            cap *= 2;
        }
        e->u.list.items[e->u.list.n++] = sub;
    }
    return e;
}

static const struct where_expr *parse_and(struct parser *p)
{
    return parse_chain(p, T_AND, W_AND, parse_unary);
}

static const struct where_expr *parse_or(struct parser *p)
{
    return parse_chain(p, T_OR, W_OR, parse_and);
}

int where_parse(struct arena *a, const char *text, struct where_expr **out, const char **err)
{
    struct parser p = {.a = a, .text = text};
    *out = NULL;
    if (strnlen(text, WHERE_MAX_LEN + 1) > WHERE_MAX_LEN) {
        *err = arena_printf(a, "where: expression longer than %d bytes", WHERE_MAX_LEN);
        return -1;
    }
    if (next(&p) < 0)
        goto failed;
    if (p.tok == T_END) {
        *err = "where: empty expression";
        return -1;
    }
    const struct where_expr *e = parse_or(&p);
    if (!e)
        goto failed;
    if (p.tok != T_END) {
        fail_found(&p, "'and', 'or' or the end");
        goto failed;
    }
    *out = (struct where_expr *)e;
    return 0;
failed:
    *err = p.err;
    return -1;
}

/* ---- evaluation ---- */

/* A value's text: p and len, pointing into the value, tmp or b. */
struct text {
    const char *p;
    size_t len;
    struct buf b;
    char tmp[40];
};

/* Scalars' text; false for a set or a map. */
static bool scalar_text(const struct val *v, struct text *t)
{
    t->p = "";
    t->len = 0;
    if (!v)
        return true;
    switch (v->type) {
    case VAL_NIL:
        return true;
    case VAL_STRING:
    case VAL_DATETIME:
        t->p = v->u.str.ptr;
        t->len = v->u.str.len;
        return true;
    case VAL_INT: {
        /* Backwards from the end, without printf. */
        char *end = t->tmp + sizeof(t->tmp), *q = end;
        uint64_t u = v->u.i < 0 ? -(uint64_t)v->u.i : (uint64_t)v->u.i;
        do
            *--q = (char)('0' + u % 10);
        while (u /= 10);
        if (v->u.i < 0)
            *--q = '-';
        t->p = q;
        t->len = (size_t)(end - q);
        return true;
    }
    case VAL_FLOAT:
        t->len = (size_t)buf_format_double(t->tmp, sizeof(t->tmp), v->u.f);
        t->p = t->tmp;
        return true;
    case VAL_BOOL:
        t->p = v->u.b ? "true" : "false";
        t->len = strlen(t->p);
        return true;
    case VAL_ARRAY:
    case VAL_STRUCT:
    case VAL_STREAM: /* never in a record */
        return false;
    }
    return true;
}

static void put_sexpr(struct buf *b, const struct val *v, int depth);

/* One set or map element: quoted when a scalar. */
static void put_element(struct buf *b, const struct val *v, int depth)
{
    struct text t;
    if (!scalar_text(v, &t)) {
        put_sexpr(b, v, depth + 1);
        return;
    }
    buf_putc(b, '\'');
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] == '\\' || t.p[i] == '\'')
            buf_putc(b, '\\');
        buf_putc(b, t.p[i]);
    }
    buf_putc(b, '\'');
}

static void put_sexpr(struct buf *b, const struct val *v, int depth)
{
    buf_putc(b, '(');
    if (depth < VAL_MAX_DEPTH) {
        if (v->type == VAL_ARRAY) {
            for (size_t i = 0; i < v->u.arr.n; i++) {
                if (i)
                    buf_putc(b, ' ');
                put_element(b, v->u.arr.items[i], depth);
            }
        } else {
            for (size_t i = 0; i < v->u.st.n; i++) {
                struct val key = {.type = VAL_STRING};
                key.u.str.ptr = v->u.st.members[i].name;
                key.u.str.len = strlen(key.u.str.ptr);
                buf_puts(b, i ? " (" : "(");
                put_element(b, &key, depth);
                buf_putc(b, ' ');
                put_element(b, v->u.st.members[i].value, depth);
                buf_putc(b, ')');
            }
        }
    }
    buf_putc(b, ')');
}

static void value_text(const struct where_value *wv, const struct val *record, struct text *t)
{
    memset(&t->b, 0, sizeof(t->b));
    if (!wv->is_field) {
        t->p = wv->text;
        t->len = wv->len;
        return;
    }
    const struct val *v = val_struct_get(record, wv->text);
    if (!v && wv->alt_name)
        v = val_struct_get(record, wv->alt_name);
    if (scalar_text(v, t))
        return;
    put_sexpr(&t->b, v, 0);
    t->p = t->b.data;
    t->len = t->b.len;
}

static bool eval(const struct where_expr *e, const struct val *record)
{
    switch (e->kind) {
    case W_TRUE:
        return true;
    case W_FALSE:
        return false;
    case W_NOT:
        return !eval(e->u.sub, record);
    case W_AND:
        for (size_t i = 0; i < e->u.list.n; i++)
            if (!eval(e->u.list.items[i], record))
                return false;
        return true;
    case W_OR:
        for (size_t i = 0; i < e->u.list.n; i++)
            if (eval(e->u.list.items[i], record))
                return true;
        return false;
    case W_EQ:
    case W_NEQ: {
        struct text l, r;
        value_text(&e->u.cmp.lhs, record, &l);
        value_text(&e->u.cmp.rhs, record, &r);
        bool eq = l.len == r.len && memcmp(l.p, r.p, l.len) == 0;
        buf_free(&l.b);
        buf_free(&r.b);
        return e->kind == W_EQ ? eq : !eq;
    }
    }
    return false;
}

bool where_match(const struct where_expr *e, const struct val *record)
{
    return eval(e, record);
}
