/*
 * dbsync.c - the host module's part of the start-up sync (upstream calls
 * it dbsync): the objects that describe this host, made or brought up to
 * date at every start of xapi, in the one transaction of the sync (see
 * core/module.h).
 *
 * The first start creates this host (with the ref and uuid of
 * DIR/host.conf, so they stay the same whatever happens to the database)
 * and, on a master, the pool. Every start then creates whatever of the
 * following is missing, and refreshes what describes the running machine
 * (facts.c):
 *   - the host's facts: versions, hostname, capabilities, cpu_info, BIOS
 *     strings, licence, start and boot times;
 *   - its host_metrics (memory) and one host_cpu per logical CPU;
 *   - the control domain: the VM standing for the toolstack's own
 *     domain, with its VM_metrics and console;
 *   - the host internal management network.
 * Objects are found again by what points at them (host.metrics,
 * host.control_domain, host_cpu.host and number, ...) or by name, so a
 * restart duplicates nothing. A slave neither creates nor changes the
 * pool: the pool is its master's.
 *
 * There is no physical interface yet, so no PIF and no network for the
 * management interface: the host's address is 127.0.0.1, or the
 * management-address its xapi.conf gives (tools/pool gives each host
 * its namespace's address).
 */
#include "host/host.h"
#include "api/api.h"
#include "api/api_value.h"
#include "core/module.h"
#include "db/db.h"
#include "build_info.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

/* The XCP-ng release whose interface this host presents: clients such as
 * Xen Orchestra choose features by product_version. */
#define DBSYNC_PRODUCT_VERSION "8.3.0"
#define DBSYNC_PRODUCT_VERSION_TEXT "8.3"
#define DBSYNC_PLATFORM_VERSION "3.4.0"
#define DBSYNC_DOM0_PREFIX "Control domain on host: "

/* The map field f of o with the keys of kv set and every other key kept:
 * for maps users write into too (other_config). */
static void dbsync_refresh_keys(struct db_txn *t, struct arena *a, struct db_obj *o, api_field_id f,
                                const struct val *kv)
{
    const struct val *old = db_obj_field(o, f);
    struct val *m = val_struct(a);
    for (size_t i = 0; i < old->u.st.n; i++)
        if (!val_struct_get(kv, old->u.st.members[i].name))
            val_struct_add(a, m, old->u.st.members[i].name, old->u.st.members[i].value);
    for (size_t i = 0; i < kv->u.st.n; i++)
        val_struct_add(a, m, kv->u.st.members[i].name, kv->u.st.members[i].value);
    db_txn_update(t, o, f, m);
}

/* --- the host --- */

static struct val *dbsync_cpu_info(struct arena *a, const struct host_facts *f)
{
    const struct host_cpu_facts *c = &f->cpus[0];
    struct val *m = val_struct(a);
    val_struct_add(a, m, "cpu_count", val_string(a, arena_printf(a, "%d", f->n_cpus)));
    val_struct_add(a, m, "socket_count", val_string(a, arena_printf(a, "%d", f->sockets)));
    val_struct_add(a, m, "vendor", val_string(a, c->vendor));
    val_struct_add(a, m, "speed", val_string(a, c->mhz));
    val_struct_add(a, m, "modelname", val_string(a, c->modelname));
    val_struct_add(a, m, "family", val_string(a, arena_printf(a, "%" PRId64, c->family)));
    val_struct_add(a, m, "model", val_string(a, arena_printf(a, "%" PRId64, c->model)));
    val_struct_add(a, m, "stepping", val_string(a, c->stepping));
    val_struct_add(a, m, "flags", val_string(a, c->flags));
    val_struct_add(a, m, "features", val_string(a, f->features));
    return m;
}

static struct val *dbsync_capabilities(struct arena *a, const struct host_facts *f)
{
    struct val *s = val_array(a);
    if (strcmp(f->arch, "x86_64") == 0) {
        static const char *const x86[] = {"xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p",
                                          "hvm-3.0-x86_64", NULL};
        for (const char *const *c = x86; *c; c++)
            val_array_push(a, s, val_string(a, *c));
    } else if (*f->arch) {
        val_array_push(a, s, val_string(a, arena_printf(a, "xen-3.0-%s", f->arch)));
    }
    return s;
}

/* __DATE__ ("Jan  2 2026") as 2026-01-02: the day this build was made. */
static const char *dbsync_build_date(struct arena *a)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'});
    int month = m ? (int)(m - months) / 3 + 1 : 1;
    return arena_printf(a, "%.4s-%02d-%02d", d + 7, month, atoi(d + 4));
}

/* What this host says it is: the product (as upstream reads from its
 * inventory: here xapi.conf, defaulting to the XCP-ng release whose
 * interface we present, as clients such as Xen Orchestra choose features
 * by product_version), the build (version, git commit, date), the
 * kernel it runs on, and the interface (API version, for XenCenter; the
 * database schema). There is no "xen" key: no hypervisor here, and the
 * key names its version. */
static struct val *dbsync_software_version(struct arena *a, const struct xapi_product *p,
                                           const struct host_facts *f)
{
    /* xapi is the release's major.minor, xapi_build the whole of it. */
    const char *dot = strchr(api_release, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    const char *xapi_version =
        dot ? arena_strndup(a, api_release, (size_t)(dot - api_release)) : api_release;
    const char *api_version = arena_printf(a, "%d.%d", api_version_major, api_version_minor);
    struct utsname u;
    const char *linux_release = uname(&u) == 0 ? arena_strdup(a, u.release) : "";
    const char *const version[] = {"product_brand",
                                   p->brand ? p->brand : "cxapi",
                                   "product_version",
                                   p->version ? p->version : DBSYNC_PRODUCT_VERSION,
                                   "product_version_text",
                                   p->version_text ? p->version_text : DBSYNC_PRODUCT_VERSION_TEXT,
                                   "product_version_text_short",
                                   p->version_text ? p->version_text : DBSYNC_PRODUCT_VERSION_TEXT,
                                   "platform_name",
                                   p->platform_name ? p->platform_name : "XCP",
                                   "platform_version",
                                   p->platform_version ? p->platform_version
                                                       : DBSYNC_PLATFORM_VERSION,
                                   "build_number",
                                   p->build_number ? p->build_number : CX_VERSION "-" CX_GIT_ID,
                                   "git_id",
                                   CX_GIT_ID,
                                   "cxapi",
                                   CX_VERSION,
                                   "xapi",
                                   xapi_version,
                                   "xapi_build",
                                   api_release,
                                   "date",
                                   dbsync_build_date(a),
                                   "hostname",
                                   f->hostname,
                                   "linux",
                                   linux_release,
                                   "xencenter_min",
                                   api_version,
                                   "xencenter_max",
                                   api_version,
                                   "network_backend",
                                   "bridge",
                                   "db_schema",
                                   api_release,
                                   NULL};
    return val_struct_of_strings(a, version);
}

static void dbsync_host_facts(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                              const struct host_facts *f)
{
    db_txn_update(t, h, API_F_host_software_version,
                  dbsync_software_version(a, &x->settings.product, f));
    db_txn_update(t, h, API_F_host_hostname, val_string(a, f->hostname));
    if (x->settings.management_address) /* else as it was: 127.0.0.1 on its own */
        db_txn_update(t, h, API_F_host_address, val_string(a, x->settings.management_address));
    db_txn_update(t, h, API_F_host_API_version_major, val_int(a, api_version_major));
    db_txn_update(t, h, API_F_host_API_version_minor, val_int(a, api_version_minor));
    db_txn_update(t, h, API_F_host_API_version_vendor, val_string(a, "XenSource"));
    db_txn_update(t, h, API_F_host_enabled, val_bool(a, true));
    db_txn_update(t, h, API_F_host_capabilities, dbsync_capabilities(a, f));
    db_txn_update(t, h, API_F_host_sched_policy, val_string(a, "credit"));
    db_txn_update(t, h, API_F_host_cpu_info, dbsync_cpu_info(a, f));
    db_txn_update(t, h, API_F_host_memory_overhead, val_int(a, f->mem_overhead));
    db_txn_update(t, h, API_F_host_bios_strings, host_bios_strings(a));
    /* A free, never-expiring XCP-ng edition. */
    static const char *const licence[] = {
        "sku_type", "xcp-ng", "sku_marketing_name", "XCP-ng", "expiry", "30000101T00:00:00Z", NULL};
    db_txn_update(t, h, API_F_host_license_params, val_struct_of_strings(a, licence));
    db_txn_update(t, h, API_F_host_edition, val_string(a, "xcp-ng"));
    struct val *editions = val_array(a);
    val_array_push(a, editions, val_string(a, "xcp-ng"));
    db_txn_update(t, h, API_F_host_editions, editions);
    if (!*db_obj_str(h, API_F_host_iscsi_iqn)) {
        struct tm tm;
        time_t now = (time_t)f->now;
        gmtime_r(&now, &tm);
        db_txn_update(
            t, h, API_F_host_iscsi_iqn,
            val_string(a, arena_printf(a, "iqn.%04d-%02d.org.cxapi:%.8s", tm.tm_year + 1900,
                                       tm.tm_mon + 1, db_obj_str(h, API_F_host_uuid))));
    }
    struct val *other = val_struct(a);
    val_struct_add(a, other, "agent_start_time",
                   val_string(a, arena_printf(a, "%" PRId64 ".", f->now)));
    val_struct_add(a, other, "boot_time",
                   val_string(a, arena_printf(a, "%" PRId64 ".", f->boot_time)));
    val_struct_add(a, other, "iscsi_iqn", val_string(a, db_obj_str(h, API_F_host_iscsi_iqn)));
    dbsync_refresh_keys(t, a, h, API_F_host_other_config, other);
}

static struct db_obj *dbsync_host(struct xapi *x, struct arena *a, struct db_txn *t,
                                  const struct host_facts *f)
{
    struct db_obj *h = db_get(x->db, API_C_host, x->id.host_ref);
    if (!h) {
        struct db_values v = db_values_new(a, API_C_host);
        db_values_set(&v, API_F_host_uuid, val_string(a, x->id.host_uuid));
        db_values_set(&v, API_F_host_name_label, val_string(a, f->hostname));
        db_values_set(&v, API_F_host_address, val_string(a, "127.0.0.1"));
        h = db_txn_create(t, API_C_host, &v, x->id.host_ref);
        log_info(NULL, "first start: created host %s", x->id.host_uuid);
    }
    dbsync_host_facts(x, a, t, h, f);
    return h;
}

static void dbsync_host_metrics(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                                const struct host_facts *f)
{
    struct db_obj *m = db_obj_follow(x->db, h, API_F_host_metrics);
    if (!m) {
        m = db_txn_create(t, API_C_host_metrics, NULL, NULL);
        db_txn_update(t, h, API_F_host_metrics, val_string(a, m->ref));
        /* the machine's until xenopsd's backend says what it accounts */
        db_txn_update(t, m, API_F_host_metrics_memory_total, val_int(a, f->mem_total));
    }
    db_txn_update(t, m, API_F_host_metrics_live, val_bool(a, true));
    db_txn_update(t, m, API_F_host_metrics_last_updated, api_value_datetime(a, f->now));
}

/* One host_cpu per logical CPU, numbered from 0: missing ones are made,
 * surplus ones (fewer CPUs than last time) go. */
static void dbsync_host_cpus(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                             const struct host_facts *f)
{
    struct db_obj **by_number = arena_zalloc(a, (size_t)f->n_cpus * sizeof(*by_number));
    for (struct db_obj *o = db_first(x->db, API_C_host_cpu), *next; o; o = next) {
        next = db_next(x->db, o);
        if (strcmp(db_obj_str(o, API_F_host_cpu_host), h->ref) != 0)
            continue;
        int64_t n = db_obj_int(o, API_F_host_cpu_number);
        if (n >= 0 && n < f->n_cpus && !by_number[n])
            by_number[n] = o;
        else
            db_txn_destroy(t, o);
    }
    for (int i = 0; i < f->n_cpus; i++) {
        const struct host_cpu_facts *c = &f->cpus[i];
        struct db_obj *o = by_number[i];
        if (!o) {
            struct db_values v = db_values_new(a, API_C_host_cpu);
            db_values_set(&v, API_F_host_cpu_host, val_string(a, h->ref));
            db_values_set(&v, API_F_host_cpu_number, val_int(a, i));
            o = db_txn_create(t, API_C_host_cpu, &v, NULL);
        }
        db_txn_update(t, o, API_F_host_cpu_vendor, val_string(a, c->vendor));
        db_txn_update(t, o, API_F_host_cpu_speed, val_int(a, strtoll(c->mhz, NULL, 10)));
        db_txn_update(t, o, API_F_host_cpu_modelname, val_string(a, c->modelname));
        db_txn_update(t, o, API_F_host_cpu_family, val_int(a, c->family));
        db_txn_update(t, o, API_F_host_cpu_model, val_int(a, c->model));
        db_txn_update(t, o, API_F_host_cpu_stepping, val_string(a, c->stepping));
        db_txn_update(t, o, API_F_host_cpu_flags, val_string(a, c->flags));
        db_txn_update(t, o, API_F_host_cpu_features, val_string(a, f->features));
        db_txn_update(t, o, API_F_host_cpu_utilisation, val_float(a, 0.0));
    }
}

/* --- the control domain --- */

static struct db_obj *dbsync_find_dom0(struct xapi *x, struct db_obj *h)
{
    struct db_obj *vm = db_obj_follow(x->db, h, API_F_host_control_domain);
    if (vm)
        return vm;
    for (struct db_obj *o = db_first(x->db, API_C_VM); o; o = db_next(x->db, o))
        if (db_obj_bool(o, API_F_VM_is_control_domain) &&
            strcmp(db_obj_str(o, API_F_VM_resident_on), h->ref) == 0)
            return o;
    return NULL;
}

static void dbsync_dom0_metrics(struct xapi *x, struct arena *a, struct db_txn *t,
                                struct db_obj *vm, const struct host_facts *f)
{
    struct db_obj *m = db_obj_follow(x->db, vm, API_F_VM_metrics);
    if (!m) {
        struct db_values v = db_values_new(a, API_C_VM_metrics);
        db_values_set(&v, API_F_VM_metrics_install_time, api_value_datetime(a, f->now));
        m = db_txn_create(t, API_C_VM_metrics, &v, NULL);
        db_txn_update(t, vm, API_F_VM_metrics, val_string(a, m->ref));
    }
    struct val *vcpu_cpu = val_struct(a);
    for (int i = 0; i < f->n_cpus; i++)
        val_struct_add(a, vcpu_cpu, arena_printf(a, "%d", i), val_int(a, i));
    db_txn_update(t, m, API_F_VM_metrics_memory_actual, val_int(a, f->mem_total));
    db_txn_update(t, m, API_F_VM_metrics_VCPUs_number, val_int(a, f->n_cpus));
    db_txn_update(t, m, API_F_VM_metrics_VCPUs_CPU, vcpu_cpu);
    db_txn_update(t, m, API_F_VM_metrics_start_time, api_value_datetime(a, f->boot_time));
    db_txn_update(t, m, API_F_VM_metrics_last_updated, api_value_datetime(a, f->now));
    db_txn_update(t, m, API_F_VM_metrics_current_domain_type, val_string(a, "pv"));
    db_txn_update(t, m, API_F_VM_metrics_hvm, val_bool(a, false));
}

/* The control domain's console: rfb, served by this host's front door. */
static void dbsync_dom0_console(struct xapi *x, struct arena *a, struct db_txn *t,
                                struct db_obj *vm, struct db_obj *h)
{
    struct db_obj *c = NULL, *o;
    for (size_t i = 0; !c && (o = db_obj_next(x->db, vm, API_F_VM_consoles, &i));)
        if (strcmp(db_obj_str(o, API_F_console_protocol), "rfb") == 0)
            c = o;
    if (!c) {
        struct db_values v = db_values_new(a, API_C_console);
        db_values_set(&v, API_F_console_protocol, val_string(a, "rfb"));
        db_values_set(&v, API_F_console_VM, val_string(a, vm->ref));
        c = db_txn_create(t, API_C_console, &v, NULL);
    }
    db_txn_update(t, c, API_F_console_location,
                  val_string(a, arena_printf(a, "http://%s/console?ref=%s",
                                             db_obj_str(h, API_F_host_address), c->ref)));
}

static struct db_obj *dbsync_new_dom0(struct arena *a, struct db_txn *t, const struct host_facts *f)
{
    struct db_values v = db_values_new(a, API_C_VM);
    db_values_set(&v, API_F_VM_name_label,
                  val_string(a, arena_printf(a, DBSYNC_DOM0_PREFIX "%s", f->hostname)));
    db_values_set(&v, API_F_VM_name_description,
                  val_string(a, "The domain that runs the toolstack and drives the devices"));
    db_values_set(&v, API_F_VM_user_version, val_int(a, 1));
    db_values_set(&v, API_F_VM_is_a_template, val_bool(a, false));
    db_values_set(&v, API_F_VM_is_control_domain, val_bool(a, true));
    db_values_set(&v, API_F_VM_power_state, val_string(a, "Running"));
    db_values_set(&v, API_F_VM_actions_after_shutdown, val_string(a, "destroy"));
    db_values_set(&v, API_F_VM_actions_after_reboot, val_string(a, "restart"));
    db_values_set(&v, API_F_VM_actions_after_crash, val_string(a, "restart"));
    db_values_set(&v, API_F_VM_domain_type, val_string(a, "pv"));
    struct db_obj *vm = db_txn_create(t, API_C_VM, &v, NULL);
    log_info(NULL, "first start: created the control domain %s", vm->ref);
    return vm;
}

static void dbsync_control_domain(struct xapi *x, struct arena *a, struct db_txn *t,
                                  struct db_obj *h, const struct host_facts *f)
{
    struct db_obj *vm = dbsync_find_dom0(x, h);
    if (!vm) {
        vm = dbsync_new_dom0(a, t, f);
    } else {
        /* Follow a hostname change unless a user renamed it. */
        const char *name = db_obj_str(vm, API_F_VM_name_label);
        if (strncmp(name, DBSYNC_DOM0_PREFIX, strlen(DBSYNC_DOM0_PREFIX)) == 0)
            db_txn_update(t, vm, API_F_VM_name_label,
                          val_string(a, arena_printf(a, DBSYNC_DOM0_PREFIX "%s", f->hostname)));
    }
    db_txn_update(t, vm, API_F_VM_is_control_domain, val_bool(a, true));
    db_txn_update(t, vm, API_F_VM_is_a_template, val_bool(a, false));
    db_txn_update(t, vm, API_F_VM_power_state, val_string(a, "Running"));
    db_txn_update(t, vm, API_F_VM_domid, val_int(a, 0));
    db_txn_update(t, vm, API_F_VM_domarch,
                  val_string(a, strcmp(f->arch, "x86_64") == 0 ? "x64" : f->arch));
    db_txn_update(t, vm, API_F_VM_resident_on, val_string(a, h->ref));
    static const api_field_id memory[] = {API_F_VM_memory_static_min, API_F_VM_memory_dynamic_min,
                                          API_F_VM_memory_dynamic_max, API_F_VM_memory_static_max,
                                          API_F_VM_memory_target};
    for (size_t i = 0; i < sizeof(memory) / sizeof(memory[0]); i++)
        db_txn_update(t, vm, memory[i], val_int(a, f->mem_total));
    db_txn_update(t, vm, API_F_VM_VCPUs_max, val_int(a, f->n_cpus));
    db_txn_update(t, vm, API_F_VM_VCPUs_at_startup, val_int(a, f->n_cpus));
    static const char *const other[] = {"is_system_domain", "true", NULL};
    dbsync_refresh_keys(t, a, vm, API_F_VM_other_config, val_struct_of_strings(a, other));
    dbsync_dom0_metrics(x, a, t, vm, f);
    dbsync_dom0_console(x, a, t, vm, h);
    db_txn_update(t, h, API_F_host_control_domain, val_string(a, vm->ref));
}

/* --- networks --- */

/* The network guests reach this host's API on, by link-local address;
 * one per pool, on bridge "xenapi". */
static void dbsync_networks(struct xapi *x, struct arena *a, struct db_txn *t)
{
    for (struct db_obj *o = db_first(x->db, API_C_network); o; o = db_next(x->db, o)) {
        const char *flag = val_str(val_struct_get(db_obj_field(o, API_F_network_other_config),
                                                  "is_host_internal_management_network"));
        if ((flag && strcmp(flag, "true") == 0) ||
            strcmp(db_obj_str(o, API_F_network_bridge), "xenapi") == 0)
            return;
    }
    static const char *const other[] = {"is_guest_installer_network",
                                        "true",
                                        "is_host_internal_management_network",
                                        "true",
                                        "ip_begin",
                                        "169.254.0.1",
                                        "ip_end",
                                        "169.254.255.254",
                                        "netmask",
                                        "255.255.0.0",
                                        NULL};
    struct db_values v = db_values_new(a, API_C_network);
    db_values_set(&v, API_F_network_name_label, val_string(a, "Host internal management network"));
    db_values_set(&v, API_F_network_name_description,
                  val_string(a, "Link-local network on which guests can reach this host's API"));
    db_values_set(&v, API_F_network_bridge, val_string(a, "xenapi"));
    db_values_set(&v, API_F_network_other_config, val_struct_of_strings(a, other));
    db_txn_create(t, API_C_network, &v, NULL);
    log_info(NULL, "first start: created the host internal management network");
}

/* --- the pool --- */

static void dbsync_pool(struct xapi *x, struct arena *a, struct db_txn *t,
                        const struct host_facts *f)
{
    struct db_obj *p = db_get(x->db, API_C_pool, x->id.pool_ref);
    if (!p) {
        struct db_values v = db_values_new(a, API_C_pool);
        db_values_set(&v, API_F_pool_uuid, val_string(a, x->id.pool_uuid));
        db_values_set(&v, API_F_pool_master, val_string(a, x->id.host_ref));
        p = db_txn_create(t, API_C_pool, &v, x->id.pool_ref);
        log_info(NULL, "first start: created pool %s", x->id.pool_uuid);
    }
    struct val *cpu = val_struct(a);
    val_struct_add(a, cpu, "cpu_count", val_string(a, arena_printf(a, "%d", f->n_cpus)));
    val_struct_add(a, cpu, "socket_count", val_string(a, arena_printf(a, "%d", f->sockets)));
    val_struct_add(a, cpu, "vendor", val_string(a, f->cpus[0].vendor));
    db_txn_update(t, p, API_F_pool_cpu_info, cpu);
}

void host_dbsync(struct xapi_sync *s)
{
    struct host_facts f;
    host_facts_read(s->a, &f);
    struct db_obj *h = dbsync_host(s->x, s->a, s->t, &f);
    dbsync_host_metrics(s->x, s->a, s->t, h, &f);
    dbsync_host_cpus(s->x, s->a, s->t, h, &f);
    dbsync_control_domain(s->x, s->a, s->t, h, &f);
    if (s->x->role.master)
        dbsync_pool(s->x, s->a, s->t, &f);
    dbsync_networks(s->x, s->a, s->t);
}
