/*
 * extauth.h - external authentication: users other than root log in
 * through a directory the host is joined to (host.enable_external_auth),
 * as upstream does with Active Directory. Two kinds are built:
 *
 *   "PAM"  the host's own accounts: passwords through libpam (service
 *          "cxapi", or the configuration's pam_service), names and groups
 *          through the name service. Identifiers as upstream's PAM
 *          plugin: u<uid> for a user, g<gid> for a group.
 *   "LDAP" a directory server through libldap: the configuration names
 *          its uri and base_dn (and, for searches that need them,
 *          bind_dn and bind_password); a user is found by uid, proves
 *          its password by binding as itself, and its groups are the
 *          posixGroups naming its uid and the groupOfNames naming its DN.
 *          A subject's identifier is its entry's entryUUID.
 *
 * A password in the configuration (a key ending in "password") is not
 * stored in the database, where any session that may read the host would
 * see it (or, in a secret, a pool-operator): it goes to
 * STATE/external-auth.conf (0600), and the backends get it back with the
 * rest.
 *
 * Who may log in, and with which roles, is the pool's list of subjects:
 * a user whose identifier, or one of whose groups' identifiers, is a
 * subject gets the union of those subjects' roles (rbac.c).
 */
#ifndef CX_EXTAUTH_H
#define CX_EXTAUTH_H

#include "core/xapi.h"

/* What a backend call ended with. */
enum extauth_rc {
    EXTAUTH_OK = 0,
    EXTAUTH_NO = -1,    /* wrong credentials, or no such subject */
    EXTAUTH_ERROR = -2, /* the service failed (unreachable, misconfigured) */
};

struct extauth_backend {
    const char *type; /* host.external_auth_type */
    /* Checks the configuration and that the service answers. */
    enum extauth_rc (*enable)(struct arena *a, const struct val *config, const char **why);
    /* A user's password, from the client at rhost (NULL: this host): its
     * subject identifier in *sid. */
    enum extauth_rc (*authenticate)(struct arena *a, const struct val *config, const char *user,
                                    const char *password, const char *rhost, const char **sid,
                                    const char **why);
    /* The identifier of a user or group by name. */
    enum extauth_rc (*identifier)(struct arena *a, const struct val *config, const char *name,
                                  const char **sid, const char **why);
    /* A subject's details as upstream names them (subject-name,
     * subject-is-group, ...): a struct of strings. */
    enum extauth_rc (*information)(struct arena *a, const struct val *config, const char *sid,
                                   struct val **info, const char **why);
    /* The identifiers of the groups a subject belongs to (an array). */
    enum extauth_rc (*membership)(struct arena *a, const struct val *config, const char *sid,
                                  struct val **groups, const char **why);
};

extern const struct extauth_backend extauth_pam, extauth_ldap;

/* The backend of a type, or NULL. */
const struct extauth_backend *extauth_backend_of(const char *type);

/* A configuration's string value, or def. */
const char *extauth_config(const struct val *config, const char *key, const char *def);

/* What an external login earned: the subject it logs in as, the user's
 * own identifier, every subject it matched (the session's roles are
 * theirs), and their roles now. */
struct extauth_login {
    const char *subject; /* ref */
    const char *sid;
    const char **subjects; /* refs */
    size_t n_subjects;
    api_roles_t roles;
};

/* Logs user in through this host's external authentication. 0 with *out,
 * or -1 with *reply: SESSION_AUTHENTICATION_FAILED (external
 * authentication off, or wrong credentials), SESSION_AUTHORIZATION_FAILED
 * (no subject of the pool matches), RBAC_PERMISSION_DENIED (the subjects
 * hold no role). *counts tells whether the failure is a failed login. */
int extauth_login(struct xapi_call *c, const char *user, const char *password,
                  struct extauth_login *out, struct rpc_reply *reply, bool *counts);

extern const struct xapi_module extauth_module;

#endif
