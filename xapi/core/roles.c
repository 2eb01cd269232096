/*
 * roles.c - the roles of the datamodel, made or brought up to date at
 * every start of xapi: the rbac module's part of the start-up sync.
 *
 * A role is found again by its uuid, else by its name. The uuid is
 * name-based, so every host gives a role the same one.
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

/* uuid5(NAMESPACE_URL, "urn:xenapi:role:" + name_label). */
static const unsigned char roles_ns_url[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                               0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

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

/* A name-based uuid (RFC 4122 section 4.3, version 5: SHA-1 of the
 * namespace's 16 bytes then the name). */
static void roles_uuid_v5(const unsigned char ns[16], const char *name, char out[IDS_UUID_LEN + 1])
{
    size_t n = strlen(name);
    unsigned char *buf = malloc(16 + n), md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    memcpy(buf, ns, 16);
    memcpy(buf + 16, name, n);
    if (!EVP_Digest(buf, 16 + n, md, &md_len, EVP_sha1(), NULL) || md_len < 16)
        abort(); /* SHA-1 is always there in libcrypto */
    free(buf);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    snprintf(out, IDS_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0], md[1],
             md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12], md[13],
             md[14], md[15]);
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
        roles_uuid_v5(roles_ns_url, arena_printf(a, "urn:xenapi:role:%s", name), uuid);
        struct db_obj *found[1], *r = NULL;
        if (db_get_by_name_label(db, API_C_role, name, found, 1) > 0)
            r = found[0];
        /* A role of that name with our uuid wins over any other. */
        struct db_obj *by_uuid = db_get_by_uuid(db, API_C_role, uuid);
        if (by_uuid)
            r = by_uuid;
        struct val *subroles = roles_table[i].chain ? val_copy(a, chain) : val_array(a);
        if (!r) {
            struct db_values v = db_values_new(a, API_C_role);
            db_values_set(&v, API_F_role_uuid, val_string(a, uuid));
            db_values_set(&v, API_F_role_name_label, val_string(a, name));
            r = db_txn_create(t, API_C_role, &v, NULL);
        }
        db_txn_update(t, r, API_F_role_name_description, val_string(a, roles_table[i].description));
        db_txn_update(t, r, API_F_role_subroles, subroles);
        db_txn_update(t, r, API_F_role_is_internal, val_bool(a, false));
        if (roles_table[i].chain)
            val_array_push(a, chain, val_string(a, r->ref));
    }
}
