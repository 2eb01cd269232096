/*
 * facts.c - what this machine is, read from /proc, /sys and the CPU:
 * hostname, memory, CPUs and their features, boot time, firmware strings.
 * What cannot be read is left empty rather than made up. The start-up
 * sync (dbsync.c) writes these into the host's objects.
 */
#include "host/host.h"

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

/* "key<tabs>: value\n" -> key, value (in place). */
static bool facts_split(char *line, char **key, char **value)
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
static const char *facts_squeeze(struct arena *a, const char *value)
{
    char *out = arena_strdup(a, value), *w = out;
    for (const char *r = value; *r; r++)
        if (!((*r == ' ' || *r == '\t') && (w == out || w[-1] == ' ')))
            *w++ = *r == '\t' ? ' ' : *r;
    *w = '\0';
    return out;
}

static void facts_read_cpuinfo(struct arena *a, struct host_facts *f)
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
        if (!facts_split(line, &key, &value))
            continue;
        if (strcmp(key, "processor") == 0) {
            i += seen;
            seen = true;
            continue;
        }
        if (i >= f->n_cpus)
            break;
        struct host_cpu_facts *c = &f->cpus[i];
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
            c->flags = facts_squeeze(a, value);
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
        struct host_cpu_facts *c = &f->cpus[k];
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
static const char *facts_cpu_features(struct arena *a)
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
static int64_t facts_installed_memory(void)
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

static void facts_read_memory(struct host_facts *f)
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
    int64_t installed = facts_installed_memory();
    f->mem_overhead = installed > f->mem_total ? installed - f->mem_total : 0;
}

static int64_t facts_read_boot_time(int64_t now)
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

void host_facts_read(struct arena *a, struct host_facts *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->hostname, sizeof(f->hostname), "localhost");
    gethostname(f->hostname, sizeof(f->hostname) - 1);
    f->now = (int64_t)time(NULL);
    f->boot_time = facts_read_boot_time(f->now);
    facts_read_memory(f);
    facts_read_cpuinfo(a, f);
    f->features = facts_cpu_features(a);
    struct utsname u;
    f->arch = uname(&u) == 0 ? arena_strdup(a, u.machine) : "";
}

/* The firmware's strings under upstream's key names, "" when unreadable. */
struct val *host_bios_strings(struct arena *a)
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
