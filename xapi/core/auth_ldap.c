/*
 * auth_ldap.c - external authentication against a directory server (the
 * "LDAP" kind of extauth.h), through libldap's synchronous calls. Every
 * call opens its own connection, bound as the configuration's bind_dn
 * (or anonymously), so nothing is shared between threads; a user's
 * password is checked by a bind as that user on a connection of its own.
 */
#include "core/extauth.h"
#include "arena.h"
#include "value.h"

#include <ldap.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LDAP_TIMEOUT_S 5
#define LDAP_USER_FILTER "(&(objectClass=posixAccount)(uid=%s))"
#define LDAP_GROUP_FILTER "(&(|(objectClass=posixGroup)(objectClass=groupOfNames))(cn=%s))"
#define LDAP_MAX_GROUPS 1000

/* What a search found of one entry. */
struct dir_hit {
    const char *dn, *uuid, *uid, *cn, *uid_number, *gid_number;
    bool group;
};

static const char *dir_why(struct arena *a, const char *what, int rc)
{
    return arena_printf(a, "LDAP: %s: %s", what, ldap_err2string(rc));
}

/* A connection to the configured server, bound as bind_dn/bind_password
 * (or anonymously), or as dn/password when dn is given. */
static enum extauth_rc dir_connect(struct arena *a, const struct val *config, const char *dn,
                                   const char *password, LDAP **out, const char **why)
{
    const char *uri = extauth_config(config, "uri", NULL);
    if (!uri || !*uri) {
        *why = "LDAP: the configuration names no uri";
        return EXTAUTH_ERROR;
    }
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, uri);
    if (rc != LDAP_SUCCESS) {
        *why = dir_why(a, uri, rc);
        return EXTAUTH_ERROR;
    }
    int version = LDAP_VERSION3;
    struct timeval tv = {LDAP_TIMEOUT_S, 0};
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    /* Passwords cross the network: "start_tls" = "true" protects an
     * ldap:// server (an ldaps:// uri is TLS from the start). */
    if (strcmp(extauth_config(config, "start_tls", "false"), "true") == 0 &&
        (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
        *why = dir_why(a, "StartTLS", rc);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return EXTAUTH_ERROR;
    }
    if (!dn) {
        dn = extauth_config(config, "bind_dn", NULL);
        password = extauth_config(config, "bind_password", "");
    }
    struct berval cred = {password ? strlen(password) : 0, (char *)(password ? password : "")};
    rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        *why = dir_why(a, dn ? dn : "anonymous bind", rc);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return rc == LDAP_INVALID_CREDENTIALS ? EXTAUTH_NO : EXTAUTH_ERROR;
    }
    *out = ld;
    return EXTAUTH_OK;
}

/* fmt with every %s replaced by value, escaped for a filter (RFC 4515). */
static const char *dir_filter(struct arena *a, const char *fmt, const char *value)
{
    struct berval in = {strlen(value), (char *)value}, esc = {0, NULL};
    if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
        return NULL;
    struct buf out = BUF_INIT;
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            buf_append(&out, esc.bv_val, esc.bv_len);
            p++;
        } else {
            buf_putc(&out, *p);
        }
    }
    ber_memfree(esc.bv_val);
    const char *f = arena_strdup(a, out.data ? out.data : "");
    buf_free(&out);
    return f;
}

static const char *dir_attr(struct arena *a, LDAP *ld, LDAPMessage *e, const char *name)
{
    struct berval **v = ldap_get_values_len(ld, e, name);
    const char *s = v && v[0] ? arena_strndup(a, v[0]->bv_val, v[0]->bv_len) : NULL;
    ldap_value_free_len(v);
    return s;
}

static bool dir_is_group(LDAP *ld, LDAPMessage *e)
{
    struct berval **v = ldap_get_values_len(ld, e, "objectClass");
    bool group = false;
    for (size_t i = 0; v && v[i]; i++)
        group |= strncasecmp(v[i]->bv_val, "posixGroup", v[i]->bv_len) == 0 ||
                 strncasecmp(v[i]->bv_val, "groupOfNames", v[i]->bv_len) == 0;
    ldap_value_free_len(v);
    return group;
}

/* Searches base_dn for filter: up to max hits into hits, their count in
 * *n. */
static enum extauth_rc dir_search(struct arena *a, LDAP *ld, const struct val *config,
                                  const char *filter, struct dir_hit *hits, int max, int *n,
                                  const char **why)
{
    static char *attrs[] = {"entryUUID", "uid",         "cn", "uidNumber",
                            "gidNumber", "objectClass", NULL};
    const char *base = extauth_config(config, "base_dn", "");
    struct timeval tv = {LDAP_TIMEOUT_S, 0};
    LDAPMessage *res = NULL;
    *n = 0;
    if (!filter) {
        *why = "LDAP: cannot escape the name";
        return EXTAUTH_ERROR;
    }
    int rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, max,
                               &res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        *why = dir_why(a, filter, rc);
        ldap_msgfree(res);
        return rc == LDAP_NO_SUCH_OBJECT ? EXTAUTH_NO : EXTAUTH_ERROR;
    }
    for (LDAPMessage *e = ldap_first_entry(ld, res); e && *n < max; e = ldap_next_entry(ld, e)) {
        char *dn = ldap_get_dn(ld, e);
        struct dir_hit *h = &hits[(*n)++];
        *h = (struct dir_hit){
            .dn = arena_strdup(a, dn ? dn : ""),
            .uuid = dir_attr(a, ld, e, "entryUUID"),
            .uid = dir_attr(a, ld, e, "uid"),
            .cn = dir_attr(a, ld, e, "cn"),
            .uid_number = dir_attr(a, ld, e, "uidNumber"),
            .gid_number = dir_attr(a, ld, e, "gidNumber"),
            .group = dir_is_group(ld, e),
        };
        ldap_memfree(dn);
        if (!h->uuid) /* not a subject we can name */
            (*n)--;
    }
    ldap_msgfree(res);
    return EXTAUTH_OK;
}

/* The one entry filter finds (fmt with value), on a connection of ours. */
static enum extauth_rc dir_find_one(struct arena *a, const struct val *config, const char *fmt,
                                    const char *value, struct dir_hit *hit, const char **why)
{
    LDAP *ld;
    enum extauth_rc rc = dir_connect(a, config, NULL, NULL, &ld, why);
    if (rc != EXTAUTH_OK)
        return rc == EXTAUTH_NO ? EXTAUTH_ERROR : rc; /* the service's own credentials */
    struct dir_hit hits[2];
    int n;
    rc = dir_search(a, ld, config, dir_filter(a, fmt, value), hits, 2, &n, why);
    ldap_unbind_ext_s(ld, NULL, NULL);
    if (rc != EXTAUTH_OK)
        return rc;
    if (n != 1) {
        *why = arena_printf(a, "LDAP: %s subject matches '%s'", n ? "more than one" : "no", value);
        return EXTAUTH_NO;
    }
    *hit = hits[0];
    return EXTAUTH_OK;
}

static enum extauth_rc dir_enable(struct arena *a, const struct val *config, const char **why)
{
    if (!*extauth_config(config, "base_dn", "")) {
        *why = "LDAP: the configuration names no base_dn";
        return EXTAUTH_ERROR;
    }
    LDAP *ld;
    enum extauth_rc rc = dir_connect(a, config, NULL, NULL, &ld, why);
    if (rc == EXTAUTH_OK)
        ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}

static enum extauth_rc dir_authenticate(struct arena *a, const struct val *config, const char *user,
                                        const char *password, const char *rhost, const char **sid,
                                        const char **why)
{
    (void)rhost;
    if (!*password) { /* a bind without one is anonymous, and always works */
        *why = "LDAP: an empty password";
        return EXTAUTH_NO;
    }
    struct dir_hit hit;
    enum extauth_rc rc = dir_find_one(
        a, config, extauth_config(config, "user_filter", LDAP_USER_FILTER), user, &hit, why);
    if (rc != EXTAUTH_OK)
        return rc;
    LDAP *ld;
    rc = dir_connect(a, config, hit.dn, password, &ld, why);
    if (rc != EXTAUTH_OK)
        return rc;
    ldap_unbind_ext_s(ld, NULL, NULL);
    *sid = hit.uuid;
    return EXTAUTH_OK;
}

static enum extauth_rc dir_identifier(struct arena *a, const struct val *config, const char *name,
                                      const char **sid, const char **why)
{
    struct dir_hit hit;
    enum extauth_rc rc = dir_find_one(
        a, config, extauth_config(config, "user_filter", LDAP_USER_FILTER), name, &hit, why);
    if (rc == EXTAUTH_NO)
        rc = dir_find_one(a, config, LDAP_GROUP_FILTER, name, &hit, why);
    if (rc == EXTAUTH_OK)
        *sid = hit.uuid;
    return rc;
}

static enum extauth_rc dir_information(struct arena *a, const struct val *config, const char *sid,
                                       struct val **info, const char **why)
{
    struct dir_hit h;
    enum extauth_rc rc = dir_find_one(a, config, "(entryUUID=%s)", sid, &h, why);
    if (rc != EXTAUTH_OK)
        return rc;
    const char *name = h.group ? h.cn : (h.uid ? h.uid : h.cn);
    const char *kv[] = {"subject-name",
                        name ? name : "",
                        "subject-displayname",
                        h.cn ? h.cn : (name ? name : ""),
                        "subject-dn",
                        h.dn,
                        "subject-uid",
                        h.uid_number ? h.uid_number : "",
                        "subject-gid",
                        h.gid_number ? h.gid_number : "",
                        "subject-is-group",
                        h.group ? "true" : "false",
                        "subject-account-disabled",
                        "false",
                        "subject-account-expired",
                        "false",
                        "subject-account-locked",
                        "false",
                        "subject-password-expired",
                        "false",
                        NULL};
    *info = val_struct_of_strings(a, kv);
    return EXTAUTH_OK;
}

static enum extauth_rc dir_membership(struct arena *a, const struct val *config, const char *sid,
                                      struct val **groups, const char **why)
{
    struct dir_hit h;
    enum extauth_rc rc = dir_find_one(a, config, "(entryUUID=%s)", sid, &h, why);
    if (rc != EXTAUTH_OK)
        return rc;
    *groups = val_array(a);
    if (h.group) { /* a group is its own closure: groups do not nest here */
        val_array_push(a, *groups, val_string(a, sid));
        return EXTAUTH_OK;
    }
    const char *by_uid = h.uid ? dir_filter(a, "(&(objectClass=posixGroup)(memberUid=%s))", h.uid)
                               : "(!(objectClass=*))";
    const char *by_dn = dir_filter(a, "(&(objectClass=groupOfNames)(member=%s))", h.dn);
    if (!by_uid || !by_dn) {
        *why = "LDAP: cannot escape the name";
        return EXTAUTH_ERROR;
    }
    LDAP *ld;
    rc = dir_connect(a, config, NULL, NULL, &ld, why);
    if (rc != EXTAUTH_OK)
        return EXTAUTH_ERROR;
    struct dir_hit *hits = arena_alloc(a, LDAP_MAX_GROUPS * sizeof(*hits));
    int n;
    rc = dir_search(a, ld, config, arena_printf(a, "(|%s%s)", by_uid, by_dn), hits, LDAP_MAX_GROUPS,
                    &n, why);
    ldap_unbind_ext_s(ld, NULL, NULL);
    for (int i = 0; rc == EXTAUTH_OK && i < n; i++)
        val_array_push(a, *groups, val_string(a, hits[i].uuid));
    return rc;
}

const struct extauth_backend extauth_ldap = {
    .type = "LDAP",
    .enable = dir_enable,
    .authenticate = dir_authenticate,
    .identifier = dir_identifier,
    .information = dir_information,
    .membership = dir_membership,
};
