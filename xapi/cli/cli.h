/*
 * cli.h - the server side of xe: POST /cli, the thin CLI protocol
 * (lib/cli_proto.h), and the commands.
 *
 * A command is a table entry (struct cli_cmd): its name, required and
 * optional parameters, help text and function. The per-class commands
 * (<class>-list, -param-list, -param-get, -param-set, -param-add,
 * -param-remove, -param-clear) are made for every entry of cli_classes[],
 * which tools/gen-cli generates from schema/cli.json: adding a class or a
 * field to xe is a data change.
 *
 * A command runs as the session it logged in with: it reads through the
 * same role checks as the API (cli_may_read), and everything it changes
 * or starts is a XenAPI call through xapi_dispatch (cli_call), so RBAC,
 * routing, hooks and events apply unchanged.
 */
#ifndef CX_XAPI_CLI_H
#define CX_XAPI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "core/xapi.h"

/* --- the generated tables (tools/gen-cli) --- */

enum {
    CLI_F_RW = 1 << 0,         /* set with <class>.set_<field> */
    CLI_F_SET = 1 << 1,        /* a set: (SRO)/(SRW) */
    CLI_F_MAP = 1 << 2,        /* a map: (MRO)/(MRW), key:value filters and setting */
    CLI_F_ADD = 1 << 3,        /* members can be added and removed */
    CLI_F_CLEAR = 1 << 4,      /* the map can be cleared at once */
    CLI_F_HIDDEN = 1 << 5,     /* only when asked for by name */
    CLI_F_EXPENSIVE = 1 << 6,  /* not computed for -list */
    CLI_F_DEPRECATED = 1 << 7, /* marked [DEPRECATED] */
    CLI_F_NAME = 1 << 8,       /* a ref shown by the name-label of its object */
    CLI_F_COMMA = 1 << 9,      /* a set joined with ", " (tags), not "; " */
    CLI_F_UNCAP = 1 << 10,     /* an enum with its first letter in lower case (power-state) */
    CLI_F_NOCASE = 1 << 11,    /* filters ignore case (MAC) */
};

struct cli_field {
    const char *name; /* as xe spells it: "name-label" */
    api_field_id src; /* the field shown, or API_NO_FIELD (then call) */
    api_field_id via; /* a ref field followed first (VM.metrics), or API_NO_FIELD */
    int call;         /* a message (self -> value) whose result is shown, or -1 */
    int set_msg;      /* set_<field>, or -1 */
    int add_msg;      /* add_to_<field> (maps) or add_<field> (sets), or -1 */
    int remove_msg;   /* remove_from_<field> or remove_<field>, or -1 */
    unsigned flags;
    /* enum values xe shows otherwise than the schema spells them: value,
     * shown, ..., NULL; or NULL (as spelt) */
    const char *const *shows;
};

struct cli_class {
    const char *name; /* "vm", "template", "host-cpu" */
    int cls;          /* API_C_VM */
    const struct cli_field *fields;
    size_t n_fields;
    const char *const *filters; /* name, value, ..., NULL: what -list always applies; or NULL */
    const char *const *list;    /* the fields -list shows by default; NULL: all */
    const char *where;          /* get_all_records_where's expression, or NULL */
};

extern const struct cli_class cli_classes[];
extern const int cli_n_classes;

/* --- one command being run --- */

struct cli_param {
    const char *key;
    const char *value;
    bool used; /* consumed by the command (filters take the rest) */
};

struct cli_ctx {
    struct xapi *x;
    struct arena *a;
    int fd;              /* the client's socket, speaking the protocol */
    const char *log_ctx; /* "cli:N" */
    const char *session; /* the command's session */
    struct xapi_client client;
    api_roles_t roles;
    const char *cmd;            /* its name */
    const struct cli_class *cc; /* a per-class command's class */
    struct cli_param *params;
    size_t n_params;
    bool minimal;
    bool progress;          /* --progress: long calls run as tasks, their progress drawn */
    struct buf minimal_out; /* --minimal: the values, joined at the end */
    bool minimal_any;
    bool negations;        /* event-wait: field=/=value means "differs" */
    bool collect;          /* API errors are kept in collected, not printed */
    const char *collected; /* the last one's text */
    bool failed;           /* an error was reported: Exit 1 */
    bool gone;             /* the client went away */
};

/* A command's function: 0, or -1 after cli_fail/cli_api_error. */
typedef int (*cli_fn)(struct cli_ctx *c);

struct cli_cmd {
    const char *name;
    const char *reqd; /* comma-separated */
    const char *optn; /* comma-separated */
    const char *help;
    cli_fn fn;
    unsigned flags;
    const struct cli_class *cc; /* the class of a per-class command */
};

enum {
    CLI_CMD_HIDDEN = 1 << 0,       /* not in help's list */
    CLI_CMD_VM_SELECTORS = 1 << 1, /* takes <vm-selectors> */
    CLI_CMD_HOST_SELECTORS = 1 << 2,
    CLI_CMD_STANDARD = 1 << 3, /* in help's short list */
};

/* cli_cmds.c: the explicit commands, ending with a NULL name. */
extern const struct cli_cmd cli_explicit_cmds[];
/* cli_class.c: the command called name (explicit or per class) into *out;
 * false when there is none. */
bool cli_cmd_find(struct arena *a, const char *name, struct cli_cmd *out);
/* Calls fn for every command, sorted by name. */
void cli_cmd_each(struct arena *a, void (*fn)(void *ctx, const struct cli_cmd *cmd), void *ctx);

/* --- cli_server.c: parameters, output, errors, calls --- */

/* The value of parameter key (marked used), or NULL. */
const char *cli_param(struct cli_ctx *c, const char *key);
/* A flag (--force, force=true): true for "true" (any case). */
bool cli_flag(struct cli_ctx *c, const char *key);
/* Sends one line (Print adds the newline on the client); not with
 * --minimal, which prints values only. */
void cli_print(struct cli_ctx *c, const char *text);
/* The same, with --minimal too: failures and questions. */
void cli_print_always(struct cli_ctx *c, const char *text);
void cli_print_stderr(struct cli_ctx *c, const char *text);
/* Reports a failure as upstream's CLI does for its own errors: "Error: "
 * and the text, on stderr. Returns -1. */
int cli_fail(struct cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports an API error [code, params...] (explanation and parameters,
 * or the Error message for a code without one). Returns -1. */
int cli_api_error(struct cli_ctx *c, const struct val *error);
/* Calls a XenAPI message as the command's session: the arguments after
 * the session, NULL-terminated. Returns the result, or NULL after the
 * error was reported. With --progress, a message that has an Async.
 * form runs as a task whose progress the client's terminal shows. */
struct val *cli_call(struct cli_ctx *c, int msg, ...) __attribute__((sentinel));
/* A result as a whole value: a streamed one (get_all, event.from) is
 * written out and read back, which keeps every type. */
struct val *cli_whole(struct cli_ctx *c, struct val *v);
/* Reads the client's answer to a command (Wait heartbeats skipped): 0
 * for OK, -1 for Failed or a client gone. */
int cli_expect_ok(struct cli_ctx *c);
/* Has the client upload file to url (put), or download url into file
 * ("": its stdout), on a connection of its own: 0 when it says OK. */
int cli_http_transfer(struct cli_ctx *c, bool put, const char *file, const char *url);
/* Asks the person at the client for a line (Prompt): the answer, trimmed
 * and in lower case, or NULL when the client failed or went away. */
const char *cli_prompt(struct cli_ctx *c);
/* Whether the client went away (it sends nothing while a command runs). */
bool cli_client_gone(struct cli_ctx *c);
/* Whether the session may read class cls (its get_record). */
bool cli_may_read(struct cli_ctx *c, int cls);

/* --- cli_print.c: records as xe prints them --- */

struct cli_kv {
    const char *key; /* with its access tag: "name-label ( RW)" */
    const char *value;
};
/* Prints records, each n key-value pairs, as upstream's multi-line
 * records (or, with --minimal, the first value of each, collected). */
void cli_print_records(struct cli_ctx *c, struct cli_kv *const *recs, const size_t *n,
                       size_t n_recs);
/* Prints a list of values (or, with --minimal, collects them). */
void cli_print_list(struct cli_ctx *c, const char *const *values, size_t n);

/* --- cli_field.c: a field's value as xe shows it --- */

/* The text of field f of object o (hold the read lock): refs as the
 * uuid of their object, sets joined by "; ", maps as "k: v; k: v", enums
 * as the schema spells them unless the field says otherwise. NULL when the field shows a message's
 * result. */
const char *cli_field_text(struct cli_ctx *c, const struct db_obj *o, const struct cli_field *f);
/* A map field's value at key (hold the read lock), or NULL. */
const char *cli_field_map_get(struct cli_ctx *c, const struct db_obj *o, const struct cli_field *f,
                              const char *key);
/* A field shown by a message's result: called without the lock. */
const char *cli_field_call(struct cli_ctx *c, const char *ref, const struct cli_field *f);
/* The access tag of a field: " ( RO)", " (MRW)", ... with " [DEPRECATED]". */
const char *cli_field_key(struct cli_ctx *c, const struct cli_field *f);
/* The value given for a field, as the XenAPI value of its type (refs by
 * uuid). NULL after reporting what is wrong. */
struct val *cli_value_of(struct cli_ctx *c, const struct api_type *t, const char *text,
                         const char *what);

/* --- cli_class.c: selecting objects --- */

/* The objects of cc that every filter matches (field=value,
 * map:key=value, set:contains=value); params marked used are not
 * filters. Returns their refs (in the arena), or -1 after an error. */
long cli_select(struct cli_ctx *c, const struct cli_class *cc, const char *const *extra,
                const char ***refs);
/* The same, without the class's own filters when class_filters is false
 * (the VMs of "vm" that include templates). */
long cli_select_from(struct cli_ctx *c, const struct cli_class *cc, bool class_filters,
                     const char *const *extra, const char ***refs);
/* The objects of cc (its own filters apply) whose field (its CLI name)
 * is value: the command line's parameters are not filters here (a host
 * named by on=, a template by template=). */
long cli_lookup(struct cli_ctx *c, const struct cli_class *cc, const char *field, const char *value,
                const char ***refs);
/* The CLI class called name, or NULL. */
const struct cli_class *cli_class_find(const char *name);

/* The module that serves POST /cli (modules.c). */
extern const struct xapi_module cli_module;

/* --- cli_errors.c --- */

/* A readable explanation of an error code, or NULL. */
const char *cli_error_text(const char *code);

#endif
