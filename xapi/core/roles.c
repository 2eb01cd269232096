/*
 * roles.c - the roles of the datamodel, made or brought up to date at
 * every start of xapi: the rbac module's part of the start-up sync.
 *
 * A role has upstream's uuid and reference, so that what clients and the
 * schema take for granted holds: pool-admin is
 * 0165f154-ba3e-034e-6b27-5d271af109ba (the default of subject.roles
 * names OpaqueRef:0165f154-...), every other role's uuid is the MD5 of
 * its name read as a uuid, and a role's reference is OpaqueRef:UUID.
 * A role found under another reference (an earlier version's) is made
 * again under the right one, and subjects follow it.
 */
#include "core/xapi.h"
#include "core/module.h"
#include "api/api.h"
#include "db/db.h"
#include "ids.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Upstream's fixed uuid of pool-admin, the default role of a subject. */
#define ROLES_POOL_ADMIN_UUID "0165f154-ba3e-034e-6b27-5d271af109ba"

/* From the least to the most powerful: each role's subroles are all the
 * roles before it in the chain. client-cert stands apart. */
static const struct {
    const char *name, *description;
    bool chain;
} roles_table[] = {
    {"read-only", "Reads anything, changes nothing", true},
    {"vm-operator", "Read-only, plus starting, stopping and using existing VMs", true},
    {"vm-admin", "VM operator, plus creating, changing and removing VMs and their disks", true},
    {"vm-power-admin", "VM admin, plus choosing where VMs run and migrating them", true},
    {"pool-operator", "VM power admin, plus managing hosts, networks and storage of the pool",
     true},
    {"pool-admin", "Everything, including users, roles and the pool's security", true},
    {"client-cert", "What a client authenticated by its TLS certificate may call", false},
};

/* A role's uuid as upstream makes it: fixed for pool-admin, else the MD5
 * of the name, its 16 bytes printed as a uuid. */
static void roles_uuid(const char *name, char out[IDS_UUID_LEN + 1])
{
    if (strcmp(name, "pool-admin") == 0) {
        snprintf(out, IDS_UUID_LEN + 1, "%s", ROLES_POOL_ADMIN_UUID);
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(name, strlen(name), md, &md_len, EVP_md5(), NULL) || md_len != 16)
        abort(); /* MD5 is always there in libcrypto */
    snprintf(out, IDS_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
             md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13],
             md[14], md[15]);
}

/* A role under a reference other than upstream's (an earlier version
 * made it): subjects are moved to ref, and the old object goes. */
static void roles_replace(struct xapi_sync *s, struct db_obj *old, const char *ref)
{
    struct db *db = s->x->db;
    for (struct db_obj *subj = db_first(db, API_C_subject); subj; subj = db_next(db, subj)) {
        bool had;
        struct val *roles = val_set_edit(s->a, db_obj_field(subj, API_F_subject_roles),
                                         val_string(s->a, old->ref), false, &had);
        if (had)
            db_txn_set(s->t, subj, API_F_subject_roles,
                       val_set_edit(s->a, roles, val_string(s->a, ref), true, &had));
    }
    db_txn_destroy(s->t, old);
}

void rbac_roles_sync(struct xapi_sync *s)
{
    struct db *db = s->x->db;
    struct db_txn *t = s->t;
    struct arena *a = s->a;
    size_t n = sizeof(roles_table) / sizeof(roles_table[0]);
    struct val *chain = val_array(a); /* refs of the chain so far */
    for (size_t i = 0; i < n; i++) {
        const char *name = roles_table[i].name;
        char uuid[IDS_UUID_LEN + 1];
        roles_uuid(name, uuid);
        const char *ref = arena_printf(a, "OpaqueRef:%s", uuid);
        struct db_obj *r = db_get(db, API_C_role, ref);
        struct db_obj *found[4];
        int n_found = db_get_by_name_label(db, API_C_role, name, found, 4);
        for (int k = 0; k < n_found && k < 4; k++)
            if (found[k] != r)
                roles_replace(s, found[k], ref);
        struct val *subroles = roles_table[i].chain ? val_copy(a, chain) : val_array(a);
        if (!r) {
            struct db_values v = db_values_new(a, API_C_role);
            db_values_set(&v, API_F_role_uuid, val_string(a, uuid));
            db_values_set(&v, API_F_role_name_label, val_string(a, name));
            r = db_txn_create(t, API_C_role, &v, ref);
        }
        db_txn_update(t, r, API_F_role_name_description, val_string(a, roles_table[i].description));
        db_txn_update(t, r, API_F_role_subroles, subroles);
        db_txn_update(t, r, API_F_role_is_internal, val_bool(a, false));
        if (roles_table[i].chain)
            val_array_push(a, chain, val_string(a, r->ref));
    }
}
