/*
 * api.h - the XenAPI as data: classes, fields, types, enums and messages,
 * generated at build time from schema/xenapi.json and schema/overlay.json
 * by tools/gen-api into api_gen.c. Everything schema-shaped (dispatch,
 * argument checks, roles, records, the implicit messages, persistence,
 * where a message runs) is driven by these tables, so adding a field or a
 * class is a schema change, not code.
 *
 * Hand-written code names classes, fields, messages, parameters and error
 * codes by the constants of api_ids.h (API_C_VM, API_F_VM_power_state,
 * API_M_VM_start, API_P_VM_start_vm, API_ERR_HANDLE_INVALID), never by a
 * string looked up at run time; a misspelt name does not compile. A field
 * id carries its class and a parameter id its message, so that the
 * accessors (db.h, xapi.h) can assert that they are used on the right
 * object or call.
 */
#ifndef CX_API_H
#define CX_API_H

#include <stdbool.h>
#include <stdint.h>

enum api_kind {
    API_VOID,
    API_STRING,
    API_INT,
    API_FLOAT,
    API_BOOL,
    API_DATETIME,
    API_REF,    /* cls: the class, or -1 for a ref of any class */
    API_ENUM,   /* en */
    API_SET,    /* elem */
    API_MAP,    /* key -> elem */
    API_RECORD, /* cls, or -1 for "<class> record" (event snapshots) */
    API_OPTION, /* elem, or nothing */
    API_ANY,    /* a value explicit code shapes itself (an event batch) */
};

struct api_enum {
    const char *name;
    const char *const *values;
    int n_values;
};

struct api_type {
    enum api_kind kind;
    int cls;
    const struct api_enum *en;
    const struct api_type *key;
    const struct api_type *elem;
    const char *text; /* as the schema spells it, for error messages */
};

enum api_qualifier {
    API_RW,             /* settable through set_<field> */
    API_RO_CONSTRUCTOR, /* given at create, then read-only */
    API_RO_RUNTIME,     /* maintained by the server */
};

/* A field: its class in the high bits, its index in the class's fields
 * in the low ones. */
typedef uint32_t api_field_id;
#define API_FIELD_ID(cls, idx) ((api_field_id)(cls) << 10 | (api_field_id)(idx))
#define API_FIELD_CLASS(id) ((int)((id) >> 10))
#define API_FIELD_INDEX(id) ((int)((id)&0x3ff))
#define API_NO_FIELD UINT32_MAX

/* A parameter: its message's index in api_messages in the high bits, its
 * position in the low ones. */
typedef uint32_t api_param_id;
#define API_PARAM_ID(msg, idx) ((api_param_id)(msg) << 5 | (api_param_id)(idx))
#define API_PARAM_MESSAGE(id) ((int)((id) >> 5))
#define API_PARAM_INDEX(id) ((int)((id)&0x1f))

struct api_field {
    const char *name;
    const struct api_type *type;
    enum api_qualifier qualifier;
    const char *default_json; /* the default as JSON text, or NULL: the type's empty value */
    /* One side of a relation the database keeps consistent: for a ref
     * field, the set field in the other class that lists this object; for
     * that set field, the ref field pointing back. API_NO_FIELD when none. */
    api_field_id inverse;
    bool persist; /* written to disk (the overlay's runtime-only fields are not) */
    bool deprecated;
};

/* Roles as a bit set, in the order of api_roles[]. */
typedef uint32_t api_roles_t;
#define API_ROLES_ALL (~(api_roles_t)0) /* the local superuser's */

enum api_impl {
    API_EXPLICIT, /* hand-written, found by name in the explicit table */
    API_GET_FIELD,
    API_SET_FIELD,
    API_ADD_TO,      /* maps: (key, value); sets: (value) */
    API_REMOVE_FROM, /* maps: (key); sets: (value) */
    API_ADD_TAGS,
    API_REMOVE_TAGS,
    API_GET_RECORD,
    API_GET_BY_UUID,
    API_GET_BY_NAME_LABEL,
    API_GET_ALL,
    API_GET_ALL_RECORDS,
    API_GET_ALL_RECORDS_WHERE,
    API_CREATE,
    API_DESTROY,
};

struct api_param {
    const char *name;
    const struct api_type *type;
};

/* Where a message runs (the overlay's run). */
#define API_RUN_HOPS 2
enum api_run {
    API_RUN_MASTER,  /* on the pool's master; a slave answers HOST_IS_SLAVE */
    API_RUN_LOCAL,   /* on whichever host is called */
    API_RUN_FORWARD, /* on the host its run_param (and run_field) names */
};

struct api_message {
    const char *wire_name; /* "VM.get_name_label" */
    int cls;
    const char *name; /* "get_name_label" */
    const struct api_param *params;
    int n_params;
    int min_params; /* the trailing ones beyond may be left out */
    const struct api_type *result;
    api_roles_t roles;
    enum api_impl impl;
    api_field_id field; /* the field an implicit accessor works on, or API_NO_FIELD */
    bool with_session;  /* params[0] is the session */
    bool has_async;     /* Async.<wire_name> exists */
    bool by_overlay;    /* explicit in the datamodel, implicit by the overlay's impl */
    enum api_run run;
    /* API_RUN_FORWARD: the parameter naming the host, or the object from
     * which the ref fields of run_fields (up to API_NO_FIELD) lead to it:
     * VBD.plug's self, then VBD.VM, then VM.resident_on. */
    int run_param;
    api_field_id run_fields[API_RUN_HOPS];
    bool deprecated;
};

struct api_class {
    const char *name;
    const char *lc_name; /* in lower case, as events and subscriptions name it */
    const struct api_field *fields;
    int n_fields;
    bool in_db;           /* objects live in the database (get_all and friends) */
    bool persist;         /* and are written to disk */
    int uuid_field;       /* or -1 */
    int name_label_field; /* or -1 */
};

struct api_error {
    const char *code;
    const char *const *params;
    int n_params;
};

extern const struct api_class api_classes[];
extern const int api_n_classes;
/* Sorted by wire_name. */
extern const struct api_message api_messages[];
extern const int api_n_messages;
extern const char *const api_roles[];
extern const int api_n_roles;
extern const struct api_error api_errors[];
extern const int api_n_errors;
extern const char api_release[];
extern const int api_version_major, api_version_minor;

/* The message with this wire name ("VM.start"), or NULL. */
const struct api_message *api_message_find(const char *wire_name);
/* The class with this name, compared case-insensitively as clients send
 * "vm" for VM, or -1. */
int api_class_find(const char *name);
/* The description of a field. */
const struct api_field *api_field(api_field_id f);
/* The index of the field of cls called name (exact case), or -1. */
int api_field_index(int cls, const char *name);
/* The role's bit, or 0 for an unknown role. */
api_roles_t api_role_bit(const char *role);

#include "api/api_ids.h"

#endif
