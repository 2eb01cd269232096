/*
 * firstboot.c - the objects a host starts with, made or brought up to
 * date at every start of xapi, all in one transaction.
 *
 * The first start creates the pool and this host (with the refs and uuids
 * of DIR/host.conf, so they stay the same whatever happens to the
 * database). Every start then creates whatever of the following is
 * missing, and refreshes what describes the running machine:
 *   - the host's facts: versions, hostname, capabilities, cpu_info, BIOS
 *     strings, licence, start and boot times;
 *   - its host_metrics (memory) and one host_cpu per logical CPU;
 *   - the control domain: the VM standing for the toolstack's own
 *     domain, with its VM_metrics and console;
 *   - the host internal management network;
 *   - the roles of the datamodel (roles.c);
 *   - the built-in templates (templates.c).
 * Objects are found again by what points at them (host.metrics,
 * host.control_domain, host_cpu.host and number, ...) or by name, so a
 * restart duplicates nothing. Facts come from /proc and /sys; what cannot
 * be read is left empty rather than made up.
 *
 * There is no physical interface yet, so no PIF and no network for the
 * management interface: the host's address stays 127.0.0.1.
 */
#include "core/xapi.h"
#include "host/dbsync.h"
#include "api/api.h"
#include "api/api_value.h"
#include "db/db.h"
#include "ids.h"
#include "log.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define CXAPI_VERSION "0.1.0"
/* The XCP-ng release whose interface this host presents: clients such as
 * Xen Orchestra choose features by product_version. */
#define FB_PRODUCT_VERSION "8.3.0"
#define FB_PLATFORM_VERSION "3.4.0"

/* --- values --- */

struct val **firstboot_values(struct arena *a, int cls)
{
    return arena_zalloc(a, (size_t)api_classes[cls].n_fields * sizeof(struct val *));
}

void firstboot_set(struct val **v, int cls, const char *field, struct val *value)
{
    int f = api_field_find(cls, field);
    if (f >= 0)
        v[f] = value;
}

struct val *firstboot_map(struct arena *a, const char *const *kv)
{
    struct val *m = val_struct(a);
    for (; kv[0]; kv += 2)
        val_struct_add(a, m, kv[0], val_string(a, kv[1]));
    return m;
}

/* A field of o, or NULL when the schema lacks it. */
static const struct val *fb_get(const struct db_obj *o, const char *field)
{
    int f = api_field_find(o->cls, field);
    return f >= 0 ? o->f[f] : NULL;
}

static const char *fb_get_str(const struct db_obj *o, const char *field)
{
    const char *s = val_str(fb_get(o, field));
    return s ? s : "";
}

void firstboot_refresh(struct db_txn *t, struct db_obj *o, const char *field, struct val *value)
{
    int f = api_field_find(o->cls, field);
    if (f >= 0 && !val_equal(o->f[f], value))
        db_txn_set(t, o, f, value);
}

/* The map field of o with the keys of kv set and every other key kept:
 * for maps users write into too (other_config). */
static void fb_refresh_keys(struct db_txn *t, struct arena *a, struct db_obj *o, const char *field,
                            const struct val *kv)
{
    const struct val *old = fb_get(o, field);
    if (!old || old->type != VAL_STRUCT)
        return;
    struct val *m = val_struct(a);
    for (size_t i = 0; i < old->u.st.n; i++)
        if (!val_struct_get(kv, old->u.st.members[i].name))
            val_struct_add(a, m, old->u.st.members[i].name, old->u.st.members[i].value);
    for (size_t i = 0; i < kv->u.st.n; i++)
        val_struct_add(a, m, kv->u.st.members[i].name, kv->u.st.members[i].value);
    firstboot_refresh(t, o, field, m);
}

static bool fb_is_ref(struct db *db, int cls, const struct val *v)
{
    const char *ref = val_str(v);
    return ref && db_get(db, cls, ref) != NULL;
}

/* --- what the machine is --- */

struct fb_cpu {
    const char *vendor, *modelname, *stepping, *flags, *mhz;
    int64_t family, model;
};

struct fb_facts {
    char hostname[256];
    int64_t now, boot_time;
    int64_t mem_total, mem_free, mem_overhead; /* bytes */
    int n_cpus, sockets;
    struct fb_cpu *cpus; /* n_cpus of them */
    const char *features;
    const char *arch; /* uname's machine */
};

/* "key<tabs>: value\n" -> key, value (in place). */
static bool fb_split(char *line, char **key, char **value)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return false;
    char *end = colon;
    while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == ' '))
        v[--n] = '\0';
    *key = line;
    *value = v;
    return true;
}

/* value with every run of blanks made one space. */
static const char *fb_squeeze(struct arena *a, const char *value)
{
    char *out = arena_strdup(a, value), *w = out;
    for (const char *r = value; *r; r++)
        if (!((*r == ' ' || *r == '\t') && (w == out || w[-1] == ' ')))
            *w++ = *r == '\t' ? ' ' : *r;
    *w = '\0';
    return out;
}

static void fb_read_cpuinfo(struct arena *a, struct fb_facts *f)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    f->n_cpus = n > 0 ? (int)n : 1;
    f->cpus = arena_zalloc(a, (size_t)f->n_cpus * sizeof(*f->cpus));
    long sockets[256];
    int n_sockets = 0;
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char *line = NULL, *key, *value;
    size_t cap = 0;
    int i = 0;
    bool seen = false;
    while (fp && getline(&line, &cap, fp) > 0) {
        if (!fb_split(line, &key, &value))
            continue;
        if (strcmp(key, "processor") == 0) {
            i += seen;
            seen = true;
            continue;
        }
        if (i >= f->n_cpus)
            break;
        struct fb_cpu *c = &f->cpus[i];
        if (strcmp(key, "vendor_id") == 0)
            c->vendor = arena_strdup(a, value);
        else if (strcmp(key, "model name") == 0)
            c->modelname = arena_strdup(a, value);
        else if (strcmp(key, "cpu family") == 0)
            c->family = strtoll(value, NULL, 10);
        else if (strcmp(key, "model") == 0)
            c->model = strtoll(value, NULL, 10);
        else if (strcmp(key, "stepping") == 0)
            c->stepping = arena_strdup(a, value);
        else if (strcmp(key, "cpu MHz") == 0)
            c->mhz = arena_strdup(a, value);
        else if (strcmp(key, "flags") == 0)
            c->flags = fb_squeeze(a, value);
        else if (strcmp(key, "physical id") == 0) {
            long id = strtol(value, NULL, 10);
            bool known = false;
            for (int k = 0; k < n_sockets; k++)
                known |= sockets[k] == id;
            if (!known && n_sockets < (int)(sizeof(sockets) / sizeof(sockets[0])))
                sockets[n_sockets++] = id;
        }
    }
    free(line);
    if (fp)
        fclose(fp);
    f->sockets = n_sockets > 0 ? n_sockets : 1;
    /* CPUs /proc/cpuinfo did not describe are taken to be like the first. */
    for (int k = 0; k < f->n_cpus; k++) {
        struct fb_cpu *c = &f->cpus[k];
        if (k > 0 && !c->vendor && !c->modelname)
            *c = f->cpus[0];
        c->vendor = c->vendor ? c->vendor : "";
        c->modelname = c->modelname ? c->modelname : "";
        c->stepping = c->stepping ? c->stepping : "";
        c->flags = c->flags ? c->flags : "";
        c->mhz = c->mhz ? c->mhz : "0";
    }
}

/* The CPU's feature words as Xen's featureset lists them (leaf 1 edx and
 * ecx, 0x80000001 edx and ecx, 0xd:1 eax, 7:0 ebx and ecx, 0x80000007
 * edx, 0x80000008 ebx, 7:0 edx), in hex joined by '-'; "" off x86. */
static const char *fb_cpu_features(struct arena *a)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned int w[10] = {0}, eax, ebx, ecx, edx;
    unsigned int max = __get_cpuid_max(0, NULL), ext = __get_cpuid_max(0x80000000, NULL);
    if (max >= 1 && __get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        w[0] = edx;
        w[1] = ecx;
    }
    if (ext >= 0x80000001 && __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) {
        w[2] = edx;
        w[3] = ecx;
    }
    if (max >= 0xd && __get_cpuid_count(0xd, 1, &eax, &ebx, &ecx, &edx))
        w[4] = eax;
    if (max >= 7 && __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        w[5] = ebx;
        w[6] = ecx;
        w[9] = edx;
    }
    if (ext >= 0x80000007 && __get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx))
        w[7] = edx;
    if (ext >= 0x80000008 && __get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx))
        w[8] = ebx;
    return arena_printf(a, "%08x-%08x-%08x-%08x-%08x-%08x-%08x-%08x-%08x-%08x", w[0], w[1], w[2],
                        w[3], w[4], w[5], w[6], w[7], w[8], w[9]);
#else
    return "";
#endif
}

/* Installed memory from the memory blocks the kernel has online, or 0
 * when /sys does not show them. */
static int64_t fb_installed_memory(void)
{
    FILE *fp = fopen("/sys/devices/system/memory/block_size_bytes", "r");
    unsigned long long block = 0;
    if (!fp)
        return 0;
    if (fscanf(fp, "%llx", &block) != 1)
        block = 0;
    fclose(fp);
    DIR *d = opendir("/sys/devices/system/memory");
    int64_t total = 0;
    struct dirent *e;
    while (block && d && (e = readdir(d))) {
        if (strncmp(e->d_name, "memory", 6) != 0 || !e->d_name[6])
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/sys/devices/system/memory/%s/online", e->d_name);
        FILE *o = fopen(path, "r");
        int online = 0;
        if (o) {
            if (fscanf(o, "%d", &online) != 1)
                online = 0;
            fclose(o);
        }
        if (online)
            total += (int64_t)block;
    }
    if (d)
        closedir(d);
    return total;
}

static void fb_read_memory(struct fb_facts *f)
{
    FILE *fp = fopen("/proc/meminfo", "r");
    char line[256];
    long long kb;
    int64_t free_kb = -1, avail_kb = -1;
    while (fp && fgets(line, sizeof(line), fp)) {
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
            f->mem_total = kb * 1024;
        else if (sscanf(line, "MemFree: %lld kB", &kb) == 1)
            free_kb = kb;
        else if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            avail_kb = kb;
    }
    if (fp)
        fclose(fp);
    f->mem_free = (avail_kb >= 0 ? avail_kb : free_kb >= 0 ? free_kb : 0) * 1024;
    /* The overhead is what the firmware and the kernel keep for
     * themselves: installed memory the kernel does not hand out. */
    int64_t installed = fb_installed_memory();
    f->mem_overhead = installed > f->mem_total ? installed - f->mem_total : 0;
}

static int64_t fb_read_boot_time(int64_t now)
{
    FILE *fp = fopen("/proc/stat", "r");
    char line[512];
    long long btime = 0;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    if (fp)
        fclose(fp);
    if (btime <= 0) {
        struct timespec up;
        clock_gettime(CLOCK_BOOTTIME, &up);
        btime = now - up.tv_sec;
    }
    return btime;
}

static void fb_read_facts(struct arena *a, struct fb_facts *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->hostname, sizeof(f->hostname), "localhost");
    gethostname(f->hostname, sizeof(f->hostname) - 1);
    f->now = (int64_t)time(NULL);
    f->boot_time = fb_read_boot_time(f->now);
    fb_read_memory(f);
    fb_read_cpuinfo(a, f);
    f->features = fb_cpu_features(a);
    struct utsname u;
    f->arch = uname(&u) == 0 ? arena_strdup(a, u.machine) : "";
}

/* The firmware's strings under upstream's key names, "" when unreadable. */
static struct val *fb_bios_strings(struct arena *a)
{
    static const char *const keys[] = {"bios-vendor",
                                       "bios_vendor",
                                       "bios-version",
                                       "bios_version",
                                       "system-manufacturer",
                                       "sys_vendor",
                                       "system-product-name",
                                       "product_name",
                                       "system-version",
                                       "product_version",
                                       "system-serial-number",
                                       "product_serial",
                                       "baseboard-manufacturer",
                                       "board_vendor",
                                       "baseboard-product-name",
                                       "board_name",
                                       "baseboard-version",
                                       "board_version",
                                       "baseboard-serial-number",
                                       "board_serial",
                                       NULL};
    struct val *m = val_struct(a);
    for (const char *const *k = keys; k[0]; k += 2) {
        char path[128], value[256] = "";
        snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", k[1]);
        FILE *fp = fopen(path, "r");
        if (fp) {
            if (!fgets(value, sizeof(value), fp))
                value[0] = '\0';
            fclose(fp);
        }
        value[strcspn(value, "\n")] = '\0';
        val_struct_add(a, m, k[0], val_string(a, value));
    }
    return m;
}

/* --- the host --- */

static struct val *fb_cpu_info(struct arena *a, const struct fb_facts *f)
{
    const struct fb_cpu *c = &f->cpus[0];
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

static struct val *fb_capabilities(struct arena *a, const struct fb_facts *f)
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
static const char *fb_build_date(struct arena *a)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], '\0'});
    int month = m ? (int)(m - months) / 3 + 1 : 1;
    return arena_printf(a, "%.4s-%02d-%02d", d + 7, month, atoi(d + 4));
}

static void fb_host_facts(struct arena *a, struct db_txn *t, struct db_obj *h,
                          const struct fb_facts *f)
{
    /* xapi is the release's major.minor, xapi_build the whole of it. */
    const char *dot = strchr(api_release, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    const char *xapi_version =
        dot ? arena_strndup(a, api_release, (size_t)(dot - api_release)) : api_release;
    const char *const version[] = {"product_brand",
                                   "cxapi",
                                   "product_version",
                                   FB_PRODUCT_VERSION,
                                   "product_version_text",
                                   "8.3",
                                   "product_version_text_short",
                                   "8.3",
                                   "platform_name",
                                   "XCP",
                                   "platform_version",
                                   FB_PLATFORM_VERSION,
                                   "xapi",
                                   xapi_version,
                                   "xapi_build",
                                   api_release,
                                   "cxapi",
                                   CXAPI_VERSION,
                                   "build_number",
                                   CXAPI_VERSION,
                                   "date",
                                   fb_build_date(a),
                                   "hostname",
                                   f->hostname,
                                   NULL};
    firstboot_refresh(t, h, "software_version", firstboot_map(a, version));
    firstboot_refresh(t, h, "hostname", val_string(a, f->hostname));
    firstboot_refresh(t, h, "API_version_major", val_int(a, api_version_major));
    firstboot_refresh(t, h, "API_version_minor", val_int(a, api_version_minor));
    firstboot_refresh(t, h, "API_version_vendor", val_string(a, "XenSource"));
    firstboot_refresh(t, h, "enabled", val_bool(a, true));
    firstboot_refresh(t, h, "capabilities", fb_capabilities(a, f));
    firstboot_refresh(t, h, "sched_policy", val_string(a, "credit"));
    firstboot_refresh(t, h, "cpu_info", fb_cpu_info(a, f));
    firstboot_refresh(t, h, "memory_overhead", val_int(a, f->mem_overhead));
    firstboot_refresh(t, h, "bios_strings", fb_bios_strings(a));
    /* A free, never-expiring XCP-ng edition. */
    static const char *const licence[] = {
        "sku_type", "xcp-ng", "sku_marketing_name", "XCP-ng", "expiry", "30000101T00:00:00Z", NULL};
    firstboot_refresh(t, h, "license_params", firstboot_map(a, licence));
    firstboot_refresh(t, h, "edition", val_string(a, "xcp-ng"));
    struct val *editions = val_array(a);
    val_array_push(a, editions, val_string(a, "xcp-ng"));
    firstboot_refresh(t, h, "editions", editions);
    if (!*fb_get_str(h, "iscsi_iqn")) {
        struct tm tm;
        time_t now = (time_t)f->now;
        gmtime_r(&now, &tm);
        firstboot_refresh(
            t, h, "iscsi_iqn",
            val_string(a, arena_printf(a, "iqn.%04d-%02d.org.cxapi:%.8s", tm.tm_year + 1900,
                                       tm.tm_mon + 1, fb_get_str(h, "uuid"))));
    }
    struct val *other = val_struct(a);
    val_struct_add(a, other, "agent_start_time",
                   val_string(a, arena_printf(a, "%" PRId64 ".", f->now)));
    val_struct_add(a, other, "boot_time",
                   val_string(a, arena_printf(a, "%" PRId64 ".", f->boot_time)));
    val_struct_add(a, other, "iscsi_iqn", val_string(a, fb_get_str(h, "iscsi_iqn")));
    fb_refresh_keys(t, a, h, "other_config", other);
}

static struct db_obj *fb_host(struct xapi *x, struct arena *a, struct db_txn *t,
                              const struct fb_facts *f)
{
    int cls = api_class_find("host");
    struct db_obj *h = db_get(x->db, cls, x->id.host_ref);
    if (!h) {
        struct val **v = firstboot_values(a, cls);
        firstboot_set(v, cls, "uuid", val_string(a, x->id.host_uuid));
        firstboot_set(v, cls, "name_label", val_string(a, f->hostname));
        firstboot_set(v, cls, "address", val_string(a, "127.0.0.1"));
        h = db_txn_create(t, cls, v, x->id.host_ref);
        log_info(NULL, "first start: created host %s", x->id.host_uuid);
    }
    fb_host_facts(a, t, h, f);
    return h;
}

static void fb_host_metrics(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                            const struct fb_facts *f)
{
    int cls = api_class_find("host_metrics");
    const struct val *ref = fb_get(h, "metrics");
    struct db_obj *m = fb_is_ref(x->db, cls, ref) ? db_get(x->db, cls, val_str(ref)) : NULL;
    if (!m) {
        m = db_txn_create(t, cls, NULL, NULL);
        firstboot_refresh(t, h, "metrics", val_string(a, m->ref));
        /* the machine's until xenopsd's backend says what it accounts */
        firstboot_refresh(t, m, "memory_total", val_int(a, f->mem_total));
    }
    firstboot_refresh(t, m, "live", val_bool(a, true));
    firstboot_refresh(t, m, "last_updated", api_value_datetime(a, f->now));
}

/* One host_cpu per logical CPU, numbered from 0: missing ones are made,
 * surplus ones (fewer CPUs than last time) go. */
static void fb_host_cpus(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                         const struct fb_facts *f)
{
    int cls = api_class_find("host_cpu");
    struct db_obj **by_number = arena_zalloc(a, (size_t)f->n_cpus * sizeof(*by_number));
    for (struct db_obj *o = db_first(x->db, cls), *next; o; o = next) {
        next = o->next;
        if (strcmp(fb_get_str(o, "host"), h->ref) != 0)
            continue;
        const struct val *num = fb_get(o, "number");
        int64_t n = num && num->type == VAL_INT ? num->u.i : -1;
        if (n >= 0 && n < f->n_cpus && !by_number[n])
            by_number[n] = o;
        else
            db_txn_destroy(t, o);
    }
    for (int i = 0; i < f->n_cpus; i++) {
        const struct fb_cpu *c = &f->cpus[i];
        struct db_obj *o = by_number[i];
        if (!o) {
            struct val **v = firstboot_values(a, cls);
            firstboot_set(v, cls, "host", val_string(a, h->ref));
            firstboot_set(v, cls, "number", val_int(a, i));
            o = db_txn_create(t, cls, v, NULL);
        }
        firstboot_refresh(t, o, "vendor", val_string(a, c->vendor));
        firstboot_refresh(t, o, "speed", val_int(a, strtoll(c->mhz, NULL, 10)));
        firstboot_refresh(t, o, "modelname", val_string(a, c->modelname));
        firstboot_refresh(t, o, "family", val_int(a, c->family));
        firstboot_refresh(t, o, "model", val_int(a, c->model));
        firstboot_refresh(t, o, "stepping", val_string(a, c->stepping));
        firstboot_refresh(t, o, "flags", val_string(a, c->flags));
        firstboot_refresh(t, o, "features", val_string(a, f->features));
        firstboot_refresh(t, o, "utilisation", val_float(a, 0.0));
    }
}

/* --- the control domain --- */

#define FB_DOM0_PREFIX "Control domain on host: "

static struct db_obj *fb_find_dom0(struct xapi *x, struct db_obj *h)
{
    int vm = api_class_find("VM");
    const struct val *ref = fb_get(h, "control_domain");
    if (fb_is_ref(x->db, vm, ref))
        return db_get(x->db, vm, val_str(ref));
    for (struct db_obj *o = db_first(x->db, vm); o; o = o->next) {
        const struct val *is = fb_get(o, "is_control_domain");
        if (is && is->type == VAL_BOOL && is->u.b &&
            strcmp(fb_get_str(o, "resident_on"), h->ref) == 0)
            return o;
    }
    return NULL;
}

static void fb_dom0_metrics(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *vm,
                            const struct fb_facts *f)
{
    int cls = api_class_find("VM_metrics");
    const struct val *ref = fb_get(vm, "metrics");
    struct db_obj *m = fb_is_ref(x->db, cls, ref) ? db_get(x->db, cls, val_str(ref)) : NULL;
    if (!m) {
        struct val **v = firstboot_values(a, cls);
        firstboot_set(v, cls, "install_time", api_value_datetime(a, f->now));
        m = db_txn_create(t, cls, v, NULL);
        firstboot_refresh(t, vm, "metrics", val_string(a, m->ref));
    }
    struct val *vcpu_cpu = val_struct(a);
    for (int i = 0; i < f->n_cpus; i++)
        val_struct_add(a, vcpu_cpu, arena_printf(a, "%d", i), val_int(a, i));
    firstboot_refresh(t, m, "memory_actual", val_int(a, f->mem_total));
    firstboot_refresh(t, m, "VCPUs_number", val_int(a, f->n_cpus));
    firstboot_refresh(t, m, "VCPUs_CPU", vcpu_cpu);
    firstboot_refresh(t, m, "start_time", api_value_datetime(a, f->boot_time));
    firstboot_refresh(t, m, "last_updated", api_value_datetime(a, f->now));
    firstboot_refresh(t, m, "current_domain_type", val_string(a, "pv"));
    firstboot_refresh(t, m, "hvm", val_bool(a, false));
}

/* The control domain's console: rfb, served by this host's front door. */
static void fb_dom0_console(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *vm,
                            struct db_obj *h)
{
    int cls = api_class_find("console");
    const struct val *consoles = fb_get(vm, "consoles");
    struct db_obj *c = NULL;
    for (size_t i = 0; consoles && i < consoles->u.arr.n && !c; i++) {
        struct db_obj *o = db_get(x->db, cls, val_str(consoles->u.arr.items[i]));
        if (o && strcmp(fb_get_str(o, "protocol"), "rfb") == 0)
            c = o;
    }
    if (!c) {
        char ref[IDS_REF_LEN + 1];
        ids_ref(ref);
        struct val **v = firstboot_values(a, cls);
        firstboot_set(v, cls, "protocol", val_string(a, "rfb"));
        firstboot_set(v, cls, "VM", val_string(a, vm->ref));
        c = db_txn_create(t, cls, v, ref);
    }
    firstboot_refresh(t, c, "location",
                      val_string(a, arena_printf(a, "http://%s/console?ref=%s",
                                                 fb_get_str(h, "address"), c->ref)));
}

static void fb_control_domain(struct xapi *x, struct arena *a, struct db_txn *t, struct db_obj *h,
                              const struct fb_facts *f)
{
    int cls = api_class_find("VM");
    struct db_obj *vm = fb_find_dom0(x, h);
    if (!vm) {
        struct val **v = firstboot_values(a, cls);
        firstboot_set(v, cls, "name_label",
                      val_string(a, arena_printf(a, FB_DOM0_PREFIX "%s", f->hostname)));
        firstboot_set(v, cls, "name_description",
                      val_string(a, "The domain that runs the toolstack and drives the devices"));
        firstboot_set(v, cls, "user_version", val_int(a, 1));
        firstboot_set(v, cls, "is_a_template", val_bool(a, false));
        firstboot_set(v, cls, "is_control_domain", val_bool(a, true));
        firstboot_set(v, cls, "power_state", val_string(a, "Running"));
        firstboot_set(v, cls, "actions_after_shutdown", val_string(a, "destroy"));
        firstboot_set(v, cls, "actions_after_reboot", val_string(a, "restart"));
        firstboot_set(v, cls, "actions_after_crash", val_string(a, "restart"));
        firstboot_set(v, cls, "domain_type", val_string(a, "pv"));
        vm = db_txn_create(t, cls, v, NULL);
        log_info(NULL, "first start: created the control domain %s", vm->ref);
    } else {
        /* Follow a hostname change unless a user renamed it. */
        const char *name = fb_get_str(vm, "name_label");
        if (strncmp(name, FB_DOM0_PREFIX, strlen(FB_DOM0_PREFIX)) == 0)
            firstboot_refresh(t, vm, "name_label",
                              val_string(a, arena_printf(a, FB_DOM0_PREFIX "%s", f->hostname)));
    }
    firstboot_refresh(t, vm, "is_control_domain", val_bool(a, true));
    firstboot_refresh(t, vm, "is_a_template", val_bool(a, false));
    firstboot_refresh(t, vm, "power_state", val_string(a, "Running"));
    firstboot_refresh(t, vm, "domid", val_int(a, 0));
    firstboot_refresh(t, vm, "domarch",
                      val_string(a, strcmp(f->arch, "x86_64") == 0 ? "x64" : f->arch));
    firstboot_refresh(t, vm, "resident_on", val_string(a, h->ref));
    firstboot_refresh(t, vm, "memory_static_min", val_int(a, f->mem_total));
    firstboot_refresh(t, vm, "memory_dynamic_min", val_int(a, f->mem_total));
    firstboot_refresh(t, vm, "memory_dynamic_max", val_int(a, f->mem_total));
    firstboot_refresh(t, vm, "memory_static_max", val_int(a, f->mem_total));
    firstboot_refresh(t, vm, "memory_target", val_int(a, f->mem_total));
    firstboot_refresh(t, vm, "VCPUs_max", val_int(a, f->n_cpus));
    firstboot_refresh(t, vm, "VCPUs_at_startup", val_int(a, f->n_cpus));
    static const char *const other[] = {"is_system_domain", "true", NULL};
    fb_refresh_keys(t, a, vm, "other_config", firstboot_map(a, other));
    fb_dom0_metrics(x, a, t, vm, f);
    fb_dom0_console(x, a, t, vm, h);
    firstboot_refresh(t, h, "control_domain", val_string(a, vm->ref));
}

/* --- networks --- */

/* The network guests reach this host's API on, by link-local address;
 * one per pool, on bridge "xenapi". */
static void fb_networks(struct xapi *x, struct arena *a, struct db_txn *t)
{
    int cls = api_class_find("network");
    for (struct db_obj *o = db_first(x->db, cls); o; o = o->next) {
        const char *flag = val_str(
            val_struct_get(fb_get(o, "other_config"), "is_host_internal_management_network"));
        if ((flag && strcmp(flag, "true") == 0) || strcmp(fb_get_str(o, "bridge"), "xenapi") == 0)
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
    struct val **v = firstboot_values(a, cls);
    firstboot_set(v, cls, "name_label", val_string(a, "Host internal management network"));
    firstboot_set(v, cls, "name_description",
                  val_string(a, "Link-local network on which guests can reach this host's API"));
    firstboot_set(v, cls, "bridge", val_string(a, "xenapi"));
    firstboot_set(v, cls, "other_config", firstboot_map(a, other));
    db_txn_create(t, cls, v, NULL);
    log_info(NULL, "first start: created the host internal management network");
}

/* --- the pool --- */

static void fb_pool(struct xapi *x, struct arena *a, struct db_txn *t, const struct fb_facts *f)
{
    int cls = api_class_find("pool");
    struct db_obj *p = db_get(x->db, cls, x->id.pool_ref);
    if (!p) {
        struct val **v = firstboot_values(a, cls);
        firstboot_set(v, cls, "uuid", val_string(a, x->id.pool_uuid));
        firstboot_set(v, cls, "master", val_string(a, x->id.host_ref));
        p = db_txn_create(t, cls, v, x->id.pool_ref);
        log_info(NULL, "first start: created pool %s", x->id.pool_uuid);
    }
    struct val *cpu = val_struct(a);
    val_struct_add(a, cpu, "cpu_count", val_string(a, arena_printf(a, "%d", f->n_cpus)));
    val_struct_add(a, cpu, "socket_count", val_string(a, arena_printf(a, "%d", f->sockets)));
    val_struct_add(a, cpu, "vendor", val_string(a, f->cpus[0].vendor));
    firstboot_refresh(t, p, "cpu_info", cpu);
}

int xapi_firstboot(struct xapi *x, char *err, size_t errlen)
{
    struct arena *a = arena_new();
    struct fb_facts f;
    fb_read_facts(a, &f);
    struct db_txn *t = db_begin(x->db);
    struct db_obj *h = fb_host(x, a, t, &f);
    fb_host_metrics(x, a, t, h, &f);
    fb_host_cpus(x, a, t, h, &f);
    fb_control_domain(x, a, t, h, &f);
    fb_pool(x, a, t, &f);
    fb_networks(x, a, t);
    firstboot_roles(x->db, t, a);
    firstboot_templates(x->db, t, a, f.now);
    const char *why;
    int rc = db_commit(t, &why);
    if (rc < 0)
        snprintf(err, errlen, "%s", why);
    arena_free(a);
    return rc;
}
