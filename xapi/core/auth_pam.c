/*
 * auth_pam.c - external authentication of the host's own accounts (the
 * "PAM" kind of extauth.h): passwords through libpam, names, users and
 * groups through the name service (getpwnam_r and friends).
 */
#include "core/extauth.h"
#include "arena.h"
#include "value.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAM_SERVICE_DEFAULT "cxapi" /* no such file: PAM's "other", the host's usual stack */
#define PAM_BUF 16384               /* for the name service's _r calls */
#define PAM_MAX_GROUPS 1024

/* The conversation: every prompt that hides its echo is the password. */
static int pam_conv_password(int n, const struct pam_message **msg, struct pam_response **resp,
                             void *ctx)
{
    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && !(r[i].resp = strdup(ctx))) {
            for (int k = 0; k < i; k++)
                free(r[k].resp);
            free(r);
            return PAM_BUF_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* pam_unix waits a while after a failure; the failed-login throttle is
 * what slows a guesser here, without holding a thread. */
static void pam_no_delay(int status, unsigned delay, void *ctx)
{
    (void)status;
    (void)delay;
    (void)ctx;
}

static enum extauth_rc pam_enable(struct arena *a, const struct val *config, const char **why)
{
    (void)a;
    (void)config;
    (void)why;
    return EXTAUTH_OK; /* the host's own accounts are always there */
}

static enum extauth_rc pam_identifier(struct arena *a, const struct val *config, const char *name,
                                      const char **sid, const char **why)
{
    (void)config;
    char *buf = arena_alloc(a, PAM_BUF);
    struct passwd pw, *pwp = NULL;
    if (getpwnam_r(name, &pw, buf, PAM_BUF, &pwp) == 0 && pwp) {
        *sid = arena_printf(a, "u%u", (unsigned)pw.pw_uid);
        return EXTAUTH_OK;
    }
    struct group gr, *grp = NULL;
    if (getgrnam_r(name, &gr, buf, PAM_BUF, &grp) == 0 && grp) {
        *sid = arena_printf(a, "g%u", (unsigned)gr.gr_gid);
        return EXTAUTH_OK;
    }
    *why = arena_printf(a, "no user or group is named '%s'", name);
    return EXTAUTH_NO;
}

static enum extauth_rc pam_authenticate_user(struct arena *a, const struct val *config,
                                             const char *user, const char *password,
                                             const char *rhost, const char **sid, const char **why)
{
    pam_handle_t *h = NULL;
    struct pam_conv conv = {pam_conv_password, (void *)password};
    const char *service = extauth_config(config, "pam_service", PAM_SERVICE_DEFAULT);
    int rc = pam_start(service, user, &conv, &h);
    if (rc != PAM_SUCCESS) {
        *why = arena_printf(a, "PAM: cannot start: %s", pam_strerror(h, rc));
        return EXTAUTH_ERROR;
    }
    pam_set_item(h, PAM_FAIL_DELAY, (const void *)pam_no_delay);
    if (rhost) /* for rules on where logins come from (pam_access, pam_faillock) */
        pam_set_item(h, PAM_RHOST, rhost);
    rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS)
        rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc != PAM_SUCCESS)
        *why = arena_printf(a, "PAM: %s", pam_strerror(h, rc));
    pam_end(h, rc);
    if (rc != PAM_SUCCESS)
        return EXTAUTH_NO;
    return pam_identifier(a, config, user, sid, why);
}

/* The number in an identifier of kind ('u' or 'g'), or -1. */
static long pam_id_number(const char *sid, char kind)
{
    if (!sid || sid[0] != kind || !sid[1])
        return -1;
    char *end;
    errno = 0;
    long n = strtol(sid + 1, &end, 10);
    return *end || errno || n < 0 ? -1 : n;
}

static void pam_put(struct arena *a, struct val *info, const char *key, const char *value)
{
    val_struct_add(a, info, key, val_string(a, value ? value : ""));
}

/* Whether the account's password is locked or missing (shadow's '!' or '*'). */
static bool pam_account_disabled(struct arena *a, const char *name)
{
    char *buf = arena_alloc(a, PAM_BUF);
    struct spwd sp, *spp = NULL;
    if (getspnam_r(name, &sp, buf, PAM_BUF, &spp) != 0 || !spp || !sp.sp_pwdp)
        return false;
    return sp.sp_pwdp[0] == '!' || sp.sp_pwdp[0] == '*';
}

static enum extauth_rc pam_information(struct arena *a, const struct val *config, const char *sid,
                                       struct val **info, const char **why)
{
    (void)config;
    char *buf = arena_alloc(a, PAM_BUF);
    long uid = pam_id_number(sid, 'u'), gid = pam_id_number(sid, 'g');
    *info = val_struct(a);
    if (uid >= 0) {
        struct passwd pw, *pwp = NULL;
        if (getpwuid_r((uid_t)uid, &pw, buf, PAM_BUF, &pwp) != 0 || !pwp)
            goto none;
        const char *gecos = pw.pw_gecos ? pw.pw_gecos : "";
        pam_put(a, *info, "subject-name", pw.pw_name);
        pam_put(a, *info, "subject-uid", sid);
        pam_put(a, *info, "subject-gid", arena_printf(a, "g%u", (unsigned)pw.pw_gid));
        pam_put(a, *info, "subject-gecos", gecos);
        pam_put(a, *info, "subject-displayname", *gecos ? gecos : pw.pw_name);
        pam_put(a, *info, "subject-is-group", "false");
        pam_put(a, *info, "subject-account-disabled",
                pam_account_disabled(a, pw.pw_name) ? "true" : "false");
        pam_put(a, *info, "subject-account-expired", "false");
        pam_put(a, *info, "subject-account-locked", "false");
        pam_put(a, *info, "subject-password-expired", "false");
        return EXTAUTH_OK;
    }
    if (gid >= 0) {
        struct group gr, *grp = NULL;
        if (getgrgid_r((gid_t)gid, &gr, buf, PAM_BUF, &grp) != 0 || !grp)
            goto none;
        pam_put(a, *info, "subject-name", gr.gr_name);
        pam_put(a, *info, "subject-uid", sid);
        pam_put(a, *info, "subject-gid", sid);
        pam_put(a, *info, "subject-is-group", "true");
        return EXTAUTH_OK;
    }
none:
    *why = arena_printf(a, "no subject has the identifier '%s'", sid);
    return EXTAUTH_NO;
}

static enum extauth_rc pam_membership(struct arena *a, const struct val *config, const char *sid,
                                      struct val **groups, const char **why)
{
    (void)config;
    *groups = val_array(a);
    long uid = pam_id_number(sid, 'u'), gid = pam_id_number(sid, 'g');
    char *buf = arena_alloc(a, PAM_BUF);
    if (gid >= 0) {
        struct group gr, *grp = NULL;
        if (getgrgid_r((gid_t)gid, &gr, buf, PAM_BUF, &grp) != 0 || !grp)
            goto none;
        val_array_push(a, *groups, val_string(a, sid)); /* a group is its own closure */
        return EXTAUTH_OK;
    }
    struct passwd pw, *pwp = NULL;
    if (uid < 0 || getpwuid_r((uid_t)uid, &pw, buf, PAM_BUF, &pwp) != 0 || !pwp)
        goto none;
    gid_t *gids = arena_alloc(a, PAM_MAX_GROUPS * sizeof(gid_t));
    int n = PAM_MAX_GROUPS;
    if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &n) < 0)
        n = PAM_MAX_GROUPS; /* more than that: the first ones */
    for (int i = 0; i < n; i++)
        val_array_push(a, *groups, val_string(a, arena_printf(a, "g%u", (unsigned)gids[i])));
    return EXTAUTH_OK;
none:
    *why = arena_printf(a, "no subject has the identifier '%s'", sid);
    return EXTAUTH_NO;
}

const struct extauth_backend extauth_pam = {
    .type = "PAM",
    .enable = pam_enable,
    .authenticate = pam_authenticate_user,
    .identifier = pam_identifier,
    .information = pam_information,
    .membership = pam_membership,
};
