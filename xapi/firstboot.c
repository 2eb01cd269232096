/*
 * firstboot.c - the objects a host starts with. The first start creates
 * the pool and this host (with the refs and uuids of DIR/host.conf, so
 * they stay the same whatever happens to the database); every start
 * refreshes what describes the running host: versions, hostname,
 * address.
 */
#include "xapi.h"
#include "api.h"
#include "api_value.h"
#include "db.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CXAPI_VERSION "0.1.0"

static void fb_set(struct val **v, int cls, const char *field, struct val *value)
{
    int f = api_field_find(cls, field);
    if (f >= 0)
        v[f] = value;
}

static struct val *fb_map(struct arena *a, const char *const *kv)
{
    struct val *m = val_struct(a);
    for (; kv[0]; kv += 2)
        val_struct_add(a, m, kv[0], val_string(a, kv[1]));
    return m;
}

/* Sets field to value if it differs, in t. */
static void fb_refresh(struct db_txn *t, struct db_obj *o, const char *field, struct val *value)
{
    int f = api_field_find(o->cls, field);
    if (f >= 0 && !val_equal(o->f[f], value))
        db_txn_set(t, o, f, value);
}

static void fb_host_facts(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h)
{
    char hostname[256] = "localhost";
    gethostname(hostname, sizeof(hostname) - 1);
    const char *const version[] = {"product_brand",    "cxapi",         "product_version",
                                   CXAPI_VERSION,      "platform_name", "XCP",
                                   "platform_version", "3.4.0",         "xapi",
                                   CXAPI_VERSION,      "hostname",      hostname,
                                   "build_number",     CXAPI_VERSION,   NULL};
    fb_refresh(t, h, "software_version", fb_map(a, version));
    fb_refresh(t, h, "hostname", val_string(a, hostname));
    fb_refresh(t, h, "API_version_major", val_int(a, api_version_major));
    fb_refresh(t, h, "API_version_minor", val_int(a, api_version_minor));
    fb_refresh(t, h, "API_version_vendor", val_string(a, "XenSource"));
    fb_refresh(t, h, "enabled", val_bool(a, true));
}

int xapi_firstboot(struct xapi *x, char *err, size_t errlen)
{
    int pool_cls = api_class_find("pool"), host_cls = api_class_find("host");
    struct arena *a = arena_new();
    struct db_txn *t = db_begin(x->db);
    struct db_obj *h = db_get(x->db, host_cls, x->id.host_ref);
    if (!h) {
        struct val **v = arena_zalloc(a, (size_t)api_classes[host_cls].n_fields * sizeof(*v));
        fb_set(v, host_cls, "uuid", val_string(a, x->id.host_uuid));
        char hostname[256] = "localhost";
        gethostname(hostname, sizeof(hostname) - 1);
        fb_set(v, host_cls, "name_label", val_string(a, hostname));
        fb_set(v, host_cls, "address", val_string(a, "127.0.0.1"));
        h = db_txn_create(t, host_cls, v, x->id.host_ref);
        log_info(NULL, "first start: created host %s", x->id.host_uuid);
    }
    fb_host_facts(x, a, t, h);
    if (!db_get(x->db, pool_cls, x->id.pool_ref)) {
        struct val **v = arena_zalloc(a, (size_t)api_classes[pool_cls].n_fields * sizeof(*v));
        fb_set(v, pool_cls, "uuid", val_string(a, x->id.pool_uuid));
        fb_set(v, pool_cls, "master", val_string(a, x->id.host_ref));
        db_txn_create(t, pool_cls, v, x->id.pool_ref);
        log_info(NULL, "first start: created pool %s", x->id.pool_uuid);
    }
    const char *why;
    int rc = db_commit(t, &why);
    if (rc < 0)
        snprintf(err, errlen, "%s", why);
    arena_free(a);
    return rc;
}
