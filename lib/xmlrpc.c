/*
 * xmlrpc.c - the XML-RPC codec. Decoding streams expat's SAX events into an
 * explicit stack of open elements (no recursion, so hostile nesting costs a
 * bounded array rather than C stack); per-tag tables say which children and
 * text each element accepts. Encoding appends literal chunks and escapes
 * text in runs, since this is the API server's hot path.
 */
#include "xmlrpc.h"
#include "valout.h"
#include "mem.h"

#include <errno.h>
#include <expat.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Bounds the work one body can cause, whatever its size. */
#define XMLRPC_MAX_VALUES 1000000
/* Each nesting level opens at most <value><struct><member>; the rest is the
 * envelope and a scalar leaf. */
#define XMLRPC_MAX_FRAMES (3 * VAL_MAX_DEPTH + 8)
/* expat takes an int length, so larger bodies go in slices. */
#define XMLRPC_SLICE (1 << 30)

/* Ordered by how often they occur, which is the order they are looked up. */
enum xmlrpc_tag {
    XMLRPC_VALUE,
    XMLRPC_STRING,
    XMLRPC_MEMBER,
    XMLRPC_NAME,
    XMLRPC_STRUCT,
    XMLRPC_ARRAY,
    XMLRPC_DATA,
    XMLRPC_PARAM,
    XMLRPC_PARAMS,
    XMLRPC_INT,
    XMLRPC_I4,
    XMLRPC_I8,
    XMLRPC_BOOLEAN,
    XMLRPC_DOUBLE,
    XMLRPC_DATETIME,
    XMLRPC_BASE64,
    XMLRPC_NIL,
    XMLRPC_METHODCALL,
    XMLRPC_METHODNAME,
    XMLRPC_METHODRESPONSE,
    XMLRPC_FAULT,
    XMLRPC_NTAGS,
};

static const char *const xmlrpc_tag_names[XMLRPC_NTAGS] = {
    "value",  "string", "member",     "name",       "struct",
    "array",  "data",   "param",      "params",     "int",
    "i4",     "i8",     "boolean",    "double",     "dateTime.iso8601",
    "base64", "nil",    "methodCall", "methodName", "methodResponse",
    "fault",
};

#define XMLRPC_BIT(t) (1u << (t))
#define XMLRPC_TYPED                                                                               \
    (XMLRPC_BIT(XMLRPC_STRING) | XMLRPC_BIT(XMLRPC_INT) | XMLRPC_BIT(XMLRPC_I4) |                  \
     XMLRPC_BIT(XMLRPC_I8) | XMLRPC_BIT(XMLRPC_BOOLEAN) | XMLRPC_BIT(XMLRPC_DOUBLE) |              \
     XMLRPC_BIT(XMLRPC_DATETIME) | XMLRPC_BIT(XMLRPC_BASE64) | XMLRPC_BIT(XMLRPC_NIL) |            \
     XMLRPC_BIT(XMLRPC_ARRAY) | XMLRPC_BIT(XMLRPC_STRUCT))
/* Elements whose text is their content; everywhere else only whitespace. */
#define XMLRPC_TEXTUAL                                                                             \
    ((XMLRPC_TYPED &                                                                               \
      ~(XMLRPC_BIT(XMLRPC_NIL) | XMLRPC_BIT(XMLRPC_ARRAY) | XMLRPC_BIT(XMLRPC_STRUCT))) |          \
     XMLRPC_BIT(XMLRPC_NAME) | XMLRPC_BIT(XMLRPC_METHODNAME))
/* Parents that hold at most one child of any kind. */
#define XMLRPC_SINGLE (XMLRPC_BIT(XMLRPC_VALUE) | XMLRPC_BIT(XMLRPC_METHODRESPONSE))

static const uint32_t xmlrpc_children[XMLRPC_NTAGS] = {
    [XMLRPC_VALUE] = XMLRPC_TYPED,
    [XMLRPC_MEMBER] = XMLRPC_BIT(XMLRPC_NAME) | XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_STRUCT] = XMLRPC_BIT(XMLRPC_MEMBER),
    [XMLRPC_ARRAY] = XMLRPC_BIT(XMLRPC_DATA),
    [XMLRPC_DATA] = XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_PARAM] = XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_PARAMS] = XMLRPC_BIT(XMLRPC_PARAM),
    [XMLRPC_METHODCALL] = XMLRPC_BIT(XMLRPC_METHODNAME) | XMLRPC_BIT(XMLRPC_PARAMS),
    [XMLRPC_METHODRESPONSE] = XMLRPC_BIT(XMLRPC_PARAMS) | XMLRPC_BIT(XMLRPC_FAULT),
    [XMLRPC_FAULT] = XMLRPC_BIT(XMLRPC_VALUE),
};

/* Children a parent may hold several of; any other child at most once. */
static const uint32_t xmlrpc_repeats[XMLRPC_NTAGS] = {
    [XMLRPC_DATA] = XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_STRUCT] = XMLRPC_BIT(XMLRPC_MEMBER),
    [XMLRPC_PARAMS] = XMLRPC_BIT(XMLRPC_PARAM),
};

/* Children that must all be present when the parent closes. */
static const uint32_t xmlrpc_required[XMLRPC_NTAGS] = {
    [XMLRPC_MEMBER] = XMLRPC_BIT(XMLRPC_NAME) | XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_ARRAY] = XMLRPC_BIT(XMLRPC_DATA),
    [XMLRPC_PARAM] = XMLRPC_BIT(XMLRPC_VALUE),
    [XMLRPC_METHODCALL] = XMLRPC_BIT(XMLRPC_METHODNAME),
    [XMLRPC_FAULT] = XMLRPC_BIT(XMLRPC_VALUE),
};

struct xmlrpc_frame {
    enum xmlrpc_tag tag;
    uint32_t seen; /* XMLRPC_BIT of every child opened so far */
    /* VALUE: its typed child's result; ARRAY, DATA: the array; STRUCT,
     * MEMBER: the struct; PARAMS, PARAM: the params array. */
    struct val *v;
};

struct xmlrpc_parser {
    struct arena *a;
    XML_Parser xp;
    enum xmlrpc_tag root;
    struct xmlrpc_frame *frames;
    size_t nframes, cap;
    unsigned depth; /* open arrays and structs */
    size_t nvalues;
    struct buf text; /* character data of the innermost textual element */
    const char *method;
    struct val *params;
    struct val *value; /* the root <value> of a bare value document */
    struct val *fault;
    const char *err; /* first failure; once set, every handler is a no-op */
};

/* expat allocates through the house allocator, so it aborts on OOM too. */
static const XML_Memory_Handling_Suite xmlrpc_mem = {xmalloc, xrealloc, free};

static void xmlrpc_fail(struct xmlrpc_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void xmlrpc_fail(struct xmlrpc_parser *p, const char *fmt, ...)
{
    if (p->err)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Quoted names may hold any UTF-8, cut anywhere: keep err plain ASCII. */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    p->err = arena_strdup(p->a, msg);
    XML_StopParser(p->xp, XML_FALSE);
}

static int xmlrpc_tag_lookup(const char *name)
{
    for (int t = 0; t < XMLRPC_NTAGS; t++)
        if (strcmp(name, xmlrpc_tag_names[t]) == 0)
            return t;
    return -1;
}

static bool xmlrpc_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool xmlrpc_is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!xmlrpc_is_space(s[i]))
            return false;
    return true;
}

static void xmlrpc_trim(const char **s, size_t *len)
{
    while (*len && xmlrpc_is_space(**s))
        (*s)++, (*len)--;
    while (*len && xmlrpc_is_space((*s)[*len - 1]))
        (*len)--;
}

/* Plain strtoll would accept a number followed by junk. XML allows no other
 * space characters than those trimmed, so strtoll skips none of its own. */
static int xmlrpc_parse_int(const char *s, size_t len, int64_t *out)
{
    xmlrpc_trim(&s, &len);
    if (len == 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || end != s + len)
        return -1;
    *out = v;
    return 0;
}

/* Accepts all strtod syntax (inf and nan included) so that whatever the
 * encoder writes reads back; overflow is an error, underflow is not. */
static int xmlrpc_parse_double(const char *s, size_t len, double *out)
{
    xmlrpc_trim(&s, &len);
    if (len == 0)
        return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || end != s + len)
        return -1;
    if (errno == ERANGE && isinf(d))
        return -1;
    *out = d;
    return 0;
}

static int xmlrpc_parse_bool(const char *s, size_t len, bool *out)
{
    xmlrpc_trim(&s, &len);
    if ((len == 1 && *s == '1') || (len == 4 && memcmp(s, "true", 4) == 0))
        *out = true;
    else if ((len == 1 && *s == '0') || (len == 5 && memcmp(s, "false", 5) == 0))
        *out = false;
    else
        return -1;
    return 0;
}

static struct val *xmlrpc_builder_scalar(struct xmlrpc_parser *p, enum xmlrpc_tag tag)
{
    const char *s = p->text.data;
    size_t n = p->text.len;
    struct val *v;
    int64_t i;
    double d;
    bool b;
    switch (tag) {
    case XMLRPC_STRING:
    case XMLRPC_BASE64:
        return val_string_len(p->a, s, n);
    case XMLRPC_DATETIME:
        v = val_string_len(p->a, s, n);
        v->type = VAL_DATETIME;
        return v;
    case XMLRPC_INT:
    case XMLRPC_I4:
    case XMLRPC_I8:
        if (xmlrpc_parse_int(s, n, &i) == 0)
            return val_int(p->a, i);
        xmlrpc_fail(p, "XML-RPC: <%s> is not a 64-bit decimal integer", xmlrpc_tag_names[tag]);
        return NULL;
    case XMLRPC_DOUBLE:
        if (xmlrpc_parse_double(s, n, &d) == 0)
            return val_float(p->a, d);
        xmlrpc_fail(p, "XML-RPC: <double> is not a number in range");
        return NULL;
    case XMLRPC_BOOLEAN:
        if (xmlrpc_parse_bool(s, n, &b) == 0)
            return val_bool(p->a, b);
        xmlrpc_fail(p, "XML-RPC: <boolean> is not 0, 1, true or false");
        return NULL;
    case XMLRPC_NIL:
        return val_nil(p->a);
    default:
        return NULL;
    }
}

static struct xmlrpc_frame *xmlrpc_builder_top(struct xmlrpc_parser *p)
{
    return p->nframes ? &p->frames[p->nframes - 1] : NULL;
}

static struct xmlrpc_frame *xmlrpc_builder_push(struct xmlrpc_parser *p, enum xmlrpc_tag tag)
{
    if (p->nframes == XMLRPC_MAX_FRAMES) {
        xmlrpc_fail(p, "XML-RPC: elements nested too deeply");
        return NULL;
    }
    if (p->nframes == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        p->frames =
            arena_realloc(p->a, p->frames, p->cap * sizeof(*p->frames), cap * sizeof(*p->frames));
        p->cap = cap;
    }
    struct xmlrpc_frame *f = &p->frames[p->nframes++];
    f->tag = tag;
    f->seen = 0;
    f->v = NULL;
    return f;
}

/* Checks that tag may open inside parent, and records that it did. */
static int xmlrpc_builder_admit(struct xmlrpc_parser *p, struct xmlrpc_frame *parent, int tag,
                                const char *name)
{
    const char *pname = xmlrpc_tag_names[parent->tag];
    if (tag < 0 || !(xmlrpc_children[parent->tag] & XMLRPC_BIT(tag))) {
        xmlrpc_fail(p, "XML-RPC: unexpected element <%.64s> inside <%s>", name, pname);
        return -1;
    }
    if ((XMLRPC_SINGLE & XMLRPC_BIT(parent->tag)) && parent->seen) {
        xmlrpc_fail(p, "XML-RPC: <%s> holds more than one element", pname);
        return -1;
    }
    if ((parent->seen & XMLRPC_BIT(tag)) && !(xmlrpc_repeats[parent->tag] & XMLRPC_BIT(tag))) {
        xmlrpc_fail(p, "XML-RPC: more than one <%s> inside <%s>", name, pname);
        return -1;
    }
    if (parent->tag == XMLRPC_VALUE && !xmlrpc_is_blank(p->text.data, p->text.len)) {
        xmlrpc_fail(p, "XML-RPC: text mixed with <%s> inside <value>", name);
        return -1;
    }
    /* The name is added to the struct first and the value filled in later. */
    if (parent->tag == XMLRPC_MEMBER && tag == XMLRPC_VALUE &&
        !(parent->seen & XMLRPC_BIT(XMLRPC_NAME))) {
        xmlrpc_fail(p, "XML-RPC: <value> before <name> inside <member>");
        return -1;
    }
    parent->seen |= XMLRPC_BIT(tag);
    return 0;
}

static int xmlrpc_builder_open_container(struct xmlrpc_parser *p, struct xmlrpc_frame *parent,
                                         struct xmlrpc_frame *f)
{
    if (++p->depth > VAL_MAX_DEPTH) {
        xmlrpc_fail(p, "XML-RPC: values nested deeper than %d", VAL_MAX_DEPTH);
        return -1;
    }
    f->v = f->tag == XMLRPC_ARRAY ? val_array(p->a) : val_struct(p->a);
    parent->v = f->v;
    return 0;
}

static void XMLCALL xmlrpc_on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct xmlrpc_parser *p = ud;
    if (p->err)
        return;
    int tag = xmlrpc_tag_lookup(name);
    struct xmlrpc_frame *parent = xmlrpc_builder_top(p);
    if (!parent && tag != (int)p->root) {
        xmlrpc_fail(p, "XML-RPC: expected <%s> but got <%.64s>", xmlrpc_tag_names[p->root], name);
        return;
    }
    if (parent && xmlrpc_builder_admit(p, parent, tag, name) < 0)
        return;
    struct xmlrpc_frame *f = xmlrpc_builder_push(p, (enum xmlrpc_tag)tag);
    if (!f)
        return;
    /* The push may have moved the stack: parent must point into the new one. */
    parent = p->nframes > 1 ? f - 1 : NULL;
    buf_reset(&p->text);
    switch (f->tag) {
    case XMLRPC_VALUE:
        if (++p->nvalues > XMLRPC_MAX_VALUES)
            xmlrpc_fail(p, "XML-RPC: more than %d values", XMLRPC_MAX_VALUES);
        break;
    case XMLRPC_ARRAY:
    case XMLRPC_STRUCT:
        xmlrpc_builder_open_container(p, parent, f);
        break;
    case XMLRPC_DATA:
    case XMLRPC_MEMBER:
        f->v = parent->v;
        break;
    case XMLRPC_PARAMS:
    case XMLRPC_PARAM:
        f->v = p->params;
        break;
    default:
        break;
    }
}

/* Hands a finished <value> to whatever holds it. */
static void xmlrpc_builder_deliver(struct xmlrpc_parser *p, struct xmlrpc_frame *parent,
                                   struct val *v)
{
    if (!parent) {
        p->value = v;
        return;
    }
    switch (parent->tag) {
    case XMLRPC_PARAM:
    case XMLRPC_DATA:
        val_array_push(p->a, parent->v, v);
        break;
    case XMLRPC_MEMBER:
        parent->v->u.st.members[parent->v->u.st.n - 1].value = v;
        break;
    case XMLRPC_FAULT:
        p->fault = v;
        break;
    default:
        break;
    }
}

static int xmlrpc_builder_check_complete(struct xmlrpc_parser *p, const struct xmlrpc_frame *f)
{
    const char *name = xmlrpc_tag_names[f->tag];
    if (f->tag == XMLRPC_METHODRESPONSE && !f->seen) {
        xmlrpc_fail(p, "XML-RPC: <methodResponse> without <params> or <fault>");
        return -1;
    }
    uint32_t missing = xmlrpc_required[f->tag] & ~f->seen;
    if (!missing)
        return 0;
    for (int t = 0; t < XMLRPC_NTAGS; t++)
        if (missing & XMLRPC_BIT(t)) {
            xmlrpc_fail(p, "XML-RPC: <%s> without <%s>", name, xmlrpc_tag_names[t]);
            break;
        }
    return -1;
}

static void xmlrpc_builder_close_name(struct xmlrpc_parser *p, struct xmlrpc_frame *parent)
{
    if (parent->tag == XMLRPC_MEMBER) {
        val_struct_add(p->a, parent->v, p->text.data, NULL);
        return;
    }
    const char *s = p->text.data;
    size_t n = p->text.len;
    xmlrpc_trim(&s, &n);
    if (n == 0)
        xmlrpc_fail(p, "XML-RPC: empty <methodName>");
    else
        p->method = arena_strndup(p->a, s, n);
}

static void XMLCALL xmlrpc_on_end(void *ud, const XML_Char *name)
{
    struct xmlrpc_parser *p = ud;
    if (p->err)
        return;
    struct xmlrpc_frame *f = xmlrpc_builder_top(p);
    if (xmlrpc_builder_check_complete(p, f) < 0)
        return;
    p->nframes--;
    struct xmlrpc_frame *parent = xmlrpc_builder_top(p);
    switch (f->tag) {
    case XMLRPC_VALUE:
        if (!f->v)
            f->v = val_string_len(p->a, p->text.data, p->text.len);
        xmlrpc_builder_deliver(p, parent, f->v);
        break;
    case XMLRPC_ARRAY:
    case XMLRPC_STRUCT:
        p->depth--;
        break;
    case XMLRPC_NAME:
    case XMLRPC_METHODNAME:
        xmlrpc_builder_close_name(p, parent);
        break;
    default:
        if (XMLRPC_TYPED & XMLRPC_BIT(f->tag))
            parent->v = xmlrpc_builder_scalar(p, f->tag);
        break;
    }
}

static void XMLCALL xmlrpc_on_text(void *ud, const XML_Char *s, int len)
{
    struct xmlrpc_parser *p = ud;
    struct xmlrpc_frame *f = xmlrpc_builder_top(p);
    if (p->err || !f)
        return;
    bool textual = (XMLRPC_TEXTUAL & XMLRPC_BIT(f->tag)) || (f->tag == XMLRPC_VALUE && !f->seen);
    if (textual)
        buf_append(&p->text, s, (size_t)len);
    else if (!xmlrpc_is_blank(s, (size_t)len))
        xmlrpc_fail(p, "XML-RPC: unexpected text inside <%s>", xmlrpc_tag_names[f->tag]);
}

/* A DTD is the door to entity expansion bombs; XML-RPC never needs one. */
static void XMLCALL xmlrpc_on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                      const XML_Char *pubid, int has_internal_subset)
{
    xmlrpc_fail(ud, "XML-RPC: DOCTYPE declarations are not allowed");
}

static void XMLCALL xmlrpc_on_entity(void *ud, const XML_Char *name, int is_param,
                                     const XML_Char *value, int value_len, const XML_Char *base,
                                     const XML_Char *sysid, const XML_Char *pubid,
                                     const XML_Char *notation)
{
    xmlrpc_fail(ud, "XML-RPC: entity declarations are not allowed");
}

static int xmlrpc_feed(struct xmlrpc_parser *p, const char *body, size_t len)
{
    do {
        size_t n = len < XMLRPC_SLICE ? len : XMLRPC_SLICE;
        if (XML_Parse(p->xp, body, (int)n, n == len) != XML_STATUS_OK)
            return -1;
        body += n;
        len -= n;
    } while (len);
    return 0;
}

/* Each thread keeps one expat parser and resets it for the next body:
 * making one costs a dozen allocations, on every call. A reset parser
 * would draw a new hash salt from getrandom(2) at its first parse, a
 * system call per request; each thread draws one salt instead and sets
 * it after every reset (its purpose, hash tables an attacker cannot
 * predict, holds as well). */
static pthread_key_t xmlrpc_parser_key;
static pthread_once_t xmlrpc_parser_once = PTHREAD_ONCE_INIT;

static void xmlrpc_parser_free(void *xp)
{
    XML_ParserFree(xp);
}

static void xmlrpc_parser_key_init(void)
{
    pthread_key_create(&xmlrpc_parser_key, xmlrpc_parser_free);
}

/* This thread's parser, fresh. Forcing UTF-8 overrides any encoding
 * declaration, so bad bytes fail. NULL when none can be made. */
static XML_Parser xmlrpc_parser(void)
{
    static _Thread_local unsigned long salt;
    pthread_once(&xmlrpc_parser_once, xmlrpc_parser_key_init);
    if (!salt && getrandom(&salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        salt = 0; /* expat then draws its own, per parse */
    XML_Parser xp = pthread_getspecific(xmlrpc_parser_key);
    if (xp && !XML_ParserReset(xp, "UTF-8")) {
        XML_ParserFree(xp);
        xp = NULL;
    }
    if (!xp) {
        xp = XML_ParserCreate_MM("UTF-8", &xmlrpc_mem, NULL);
        pthread_setspecific(xmlrpc_parser_key, xp);
    }
    if (xp && salt)
        XML_SetHashSalt(xp, salt);
    return xp;
}

/* Runs expat over the whole body; on success the parser holds the tree. */
static int xmlrpc_run(struct xmlrpc_parser *p, struct arena *a, enum xmlrpc_tag root,
                      const char *body, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->a = a;
    p->root = root;
    p->params = val_array(a);
    p->xp = xmlrpc_parser();
    if (!p->xp) {
        p->err = "XML-RPC: cannot create an XML parser";
        return -1;
    }
    buf_reserve(&p->text, 64);
    buf_reset(&p->text);
    XML_SetUserData(p->xp, p);
    XML_SetElementHandler(p->xp, xmlrpc_on_start, xmlrpc_on_end);
    XML_SetCharacterDataHandler(p->xp, xmlrpc_on_text);
    XML_SetStartDoctypeDeclHandler(p->xp, xmlrpc_on_doctype);
    XML_SetEntityDeclHandler(p->xp, xmlrpc_on_entity);
    if (xmlrpc_feed(p, body, len) < 0 && !p->err)
        p->err = arena_printf(a, "XML-RPC: %s at line %lu, column %lu",
                              XML_ErrorString(XML_GetErrorCode(p->xp)),
                              (unsigned long)XML_GetCurrentLineNumber(p->xp),
                              (unsigned long)XML_GetCurrentColumnNumber(p->xp));
    buf_free(&p->text);
    return p->err ? -1 : 0;
}

int xmlrpc_parse_call(struct arena *a, const char *body, size_t len, struct rpc_call *call,
                      const char **err)
{
    struct xmlrpc_parser p;
    if (xmlrpc_run(&p, a, XMLRPC_METHODCALL, body, len) < 0) {
        *err = p.err;
        return -1;
    }
    call->method = p.method;
    call->params = p.params;
    call->id = NULL;
    call->jsonrpc_version = 0;
    return 0;
}

static int xmlrpc_reply_fault(struct arena *a, const struct val *fault, struct rpc_reply *reply,
                              const char **err)
{
    const struct val *code = val_struct_get(fault, "faultCode");
    const char *msg = val_str(val_struct_get(fault, "faultString"));
    const char *code_text = val_str(code);
    if (code && code->type == VAL_INT)
        code_text = arena_printf(a, "%" PRId64, code->u.i);
    if (!code_text || !msg) {
        *err = "XML-RPC: <fault> lacks faultCode or faultString";
        return -1;
    }
    *reply = rpc_reply_error(a, "XMLRPC_FAULT", code_text, msg, (const char *)NULL);
    return 0;
}

static bool xmlrpc_all_strings(const struct val *arr)
{
    for (size_t i = 0; i < arr->u.arr.n; i++)
        if (arr->u.arr.items[i]->type != VAL_STRING)
            return false;
    return true;
}

static int xmlrpc_reply_envelope(struct arena *a, const struct val *params, struct rpc_reply *reply,
                                 const char **err)
{
    const struct val *env = params->u.arr.n == 1 ? params->u.arr.items[0] : NULL;
    const char *status = val_str(val_struct_get(env, "Status"));
    if (!status) {
        *err = "XML-RPC: reply is not a struct with a Status";
        return -1;
    }
    if (strcmp(status, "Success") == 0) {
        struct val *v = val_struct_get(env, "Value");
        *reply = rpc_reply_ok(v ? v : val_string(a, ""));
        return 0;
    }
    struct val *desc = val_struct_get(env, "ErrorDescription");
    if (strcmp(status, "Failure") != 0 || !desc || desc->type != VAL_ARRAY || desc->u.arr.n == 0 ||
        !xmlrpc_all_strings(desc)) {
        *err = "XML-RPC: reply is neither Success nor Failure with an ErrorDescription";
        return -1;
    }
    *reply = (struct rpc_reply){.error = desc}; /* every field: bare too */
    return 0;
}

int xmlrpc_parse_reply(struct arena *a, const char *body, size_t len, struct rpc_reply *reply,
                       const char **err)
{
    struct xmlrpc_parser p;
    if (xmlrpc_run(&p, a, XMLRPC_METHODRESPONSE, body, len) < 0) {
        *err = p.err;
        return -1;
    }
    if (p.fault)
        return xmlrpc_reply_fault(a, p.fault, reply, err);
    return xmlrpc_reply_envelope(a, p.params, reply, err);
}

int xmlrpc_parse_value(struct arena *a, const char *text, size_t len, struct val **out,
                       const char **err)
{
    struct xmlrpc_parser p;
    if (xmlrpc_run(&p, a, XMLRPC_VALUE, text, len) < 0) {
        *err = p.err;
        return -1;
    }
    *out = p.value;
    return 0;
}

/* --- encoding --- */

#define XMLRPC_PUT(out, lit) buf_append((out), (lit), sizeof(lit) - 1)

/* What each byte becomes in character data, if anything: \r must go as
 * a reference, as parsers turn a literal one into \n. */
static const char *const xmlrpc_escapes[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['\r'] = "&#13;"};
static const unsigned char xmlrpc_escape_len[256] = {['&'] = 5, ['<'] = 4, ['>'] = 4, ['\r'] = 5};

/* Runs of plain bytes are copied whole: most text has nothing to escape. */
void xmlrpc_write_escaped(struct buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    buf_reserve(out, len);
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && !xmlrpc_escape_len[*p])
            p++;
        if (p > run)
            buf_append(out, run, (size_t)(p - run));
        if (p < end) {
            buf_append(out, xmlrpc_escapes[*p], xmlrpc_escape_len[*p]);
            p++;
        }
    }
}

static void xmlrpc_put_text_value(struct buf *out, const char *open, const char *close,
                                  const struct val *v)
{
    buf_puts(out, open);
    xmlrpc_write_escaped(out, v->u.str.ptr, v->u.str.len);
    buf_puts(out, close);
}

void xmlrpc_write_value(struct buf *out, const struct val *v)
{
    char tmp[40];
    if (!v) {
        XMLRPC_PUT(out, "<value></value>");
        return;
    }
    switch (v->type) {
    case VAL_NIL:
        XMLRPC_PUT(out, "<value></value>");
        break;
    case VAL_STRING:
        xmlrpc_put_text_value(out, "<value>", "</value>", v);
        break;
    case VAL_DATETIME:
        xmlrpc_put_text_value(out, "<value><dateTime.iso8601>", "</dateTime.iso8601></value>", v);
        break;
    case VAL_INT:
        XMLRPC_PUT(out, "<value><string>");
        buf_put_int64(out, v->u.i);
        XMLRPC_PUT(out, "</string></value>");
        break;
    case VAL_FLOAT:
        XMLRPC_PUT(out, "<value><double>");
        buf_append(out, tmp, (size_t)buf_format_double(tmp, sizeof(tmp), v->u.f));
        XMLRPC_PUT(out, "</double></value>");
        break;
    case VAL_BOOL:
        if (v->u.b)
            XMLRPC_PUT(out, "<value><boolean>1</boolean></value>");
        else
            XMLRPC_PUT(out, "<value><boolean>0</boolean></value>");
        break;
    case VAL_ARRAY:
        XMLRPC_PUT(out, "<value><array><data>");
        for (size_t i = 0; i < v->u.arr.n; i++)
            xmlrpc_write_value(out, v->u.arr.items[i]);
        XMLRPC_PUT(out, "</data></array></value>");
        break;
    case VAL_STRUCT:
        XMLRPC_PUT(out, "<value><struct>");
        for (size_t i = 0; i < v->u.st.n; i++) {
            const struct val_member *m = &v->u.st.members[i];
            XMLRPC_PUT(out, "<member><name>");
            xmlrpc_write_escaped(out, m->name, strlen(m->name));
            XMLRPC_PUT(out, "</name>");
            xmlrpc_write_value(out, m->value);
            XMLRPC_PUT(out, "</member>");
        }
        XMLRPC_PUT(out, "</struct></value>");
        break;
    case VAL_STREAM: {
        struct val_out o;
        val_out_init(&o, VAL_WIRE_XMLRPC, out);
        val_out_value(&o, v);
        break;
    }
    }
}

void xmlrpc_write_call(struct buf *out, const char *method, const struct val *params)
{
    XMLRPC_PUT(out, "<?xml version=\"1.0\"?><methodCall><methodName>");
    xmlrpc_write_escaped(out, method, strlen(method));
    XMLRPC_PUT(out, "</methodName><params>");
    size_t n = params && params->type == VAL_ARRAY ? params->u.arr.n : 0;
    for (size_t i = 0; i < n; i++) {
        XMLRPC_PUT(out, "<param>");
        xmlrpc_write_value(out, params->u.arr.items[i]);
        XMLRPC_PUT(out, "</param>");
    }
    XMLRPC_PUT(out, "</params></methodCall>");
}

void xmlrpc_out_reply(struct val_out *o, const struct rpc_reply *reply)
{
    struct buf *out = o->buf;
    size_t start = out->len;
    if (reply->bare && !reply->error) {
        XMLRPC_PUT(out, "<methodResponse><params><param>");
        val_out_value(o, reply->value);
        XMLRPC_PUT(out, "</param></params></methodResponse>");
        return;
    }
    XMLRPC_PUT(out, "<methodResponse><params><param><value><struct><member><name>Status</name>");
    if (reply->error) {
        XMLRPC_PUT(out, "<value>Failure</value></member><member><name>ErrorDescription</name>");
        xmlrpc_write_value(out, reply->error);
    } else {
        XMLRPC_PUT(out, "<value>Success</value></member><member><name>Value</name>");
        val_out_value(o, reply->value);
        if (o->error && !o->sent) {
            struct rpc_reply failed = {.error = o->error};
            buf_truncate(out, start);
            o->error = NULL;
            o->failed = false;
            xmlrpc_out_reply(o, &failed);
            return;
        }
    }
    XMLRPC_PUT(out, "</member></struct></value></param></params></methodResponse>");
}

void xmlrpc_write_reply(struct buf *out, const struct rpc_reply *reply)
{
    struct val_out o;
    val_out_init(&o, VAL_WIRE_XMLRPC, out);
    xmlrpc_out_reply(&o, reply);
}
