/*
 * templates.c - the built-in VM templates a new host offers: a table of
 * guest families and their defaults, and the vm module's part of the
 * start-up sync, which turns the missing ones into VM objects (is_a_template and
 * is_default_template true, Halted), each with its VM_metrics.
 *
 * The clients' conventions are upstream's: other_config carries
 * default_template, install-methods, linux_template (Linux guests) and
 * "disks", the disks a new VM gets, as a <provision> document;
 * recommendations is a <restrictions> document of limits.
 */
#include "vm/vm.h"
#include "api/api_value.h"
#include "core/module.h"
#include "log.h"

#include <inttypes.h>
#include <stdbool.h>

#define MiB (1024LL * 1024)
#define GiB (1024LL * MiB)

enum tpl_os { TPL_OTHER, TPL_LINUX, TPL_WINDOWS };

struct tpl {
    const char *name;
    const char *description;
    enum tpl_os os;
    const char *distro;  /* other_config install-distro, or NULL */
    const char *release; /* other_config debian-release, or NULL */
    int vcpus;
    int64_t memory_min; /* memory_static_min */
    int64_t memory;     /* dynamic min and max, static max */
    int64_t disk;       /* the system disk, 0 for none */
    bool uefi;          /* boots with UEFI firmware (and Secure Boot) */
};

static const struct tpl tpl_table[] = {
    {"Other install media", "A generic guest: boot any installer from a CD or the network.",
     TPL_OTHER, NULL, NULL, 1, 256 * MiB, 1 * GiB, 10 * GiB, false},
    {"Debian Bookworm 12", "Debian 12 (Bookworm), 64-bit, installed from CD or a mirror.",
     TPL_LINUX, "debianlike", "bookworm", 2, 512 * MiB, 2 * GiB, 10 * GiB, false},
    {"Debian Bullseye 11", "Debian 11 (Bullseye), 64-bit, installed from CD or a mirror.",
     TPL_LINUX, "debianlike", "bullseye", 2, 512 * MiB, 2 * GiB, 10 * GiB, false},
    {"Ubuntu Jammy Jellyfish 22.04", "Ubuntu 22.04 LTS (Jammy Jellyfish), 64-bit.", TPL_LINUX,
     "debianlike", "jammy", 2, 1 * GiB, 2 * GiB, 20 * GiB, false},
    {"Ubuntu Noble Numbat 24.04", "Ubuntu 24.04 LTS (Noble Numbat), 64-bit.", TPL_LINUX,
     "debianlike", "noble", 2, 1 * GiB, 2 * GiB, 20 * GiB, false},
    {"Rocky Linux 9", "Rocky Linux 9, 64-bit, installed from CD or a mirror.", TPL_LINUX, "rhlike",
     NULL, 2, 1 * GiB, 2 * GiB, 20 * GiB, false},
    {"CentOS Stream 9", "CentOS Stream 9, 64-bit, installed from CD or a mirror.", TPL_LINUX,
     "rhlike", NULL, 2, 1 * GiB, 2 * GiB, 20 * GiB, false},
    {"Windows 10 (64-bit)", "Windows 10, 64-bit; install the guest tools after setup.", TPL_WINDOWS,
     NULL, NULL, 2, 2 * GiB, 4 * GiB, 32 * GiB, false},
    {"Windows 11",
     "Windows 11, 64-bit, UEFI with Secure Boot; install the guest tools after setup.", TPL_WINDOWS,
     NULL, NULL, 2, 4 * GiB, 4 * GiB, 64 * GiB, true},
    {"Windows Server 2022 (64-bit)",
     "Windows Server 2022, 64-bit; install the guest tools after setup.", TPL_WINDOWS, NULL, NULL,
     2, 2 * GiB, 4 * GiB, 64 * GiB, false},
};

/* Upstream's limits for a 64-bit HVM guest. */
#define TPL_MEMORY_MAX (1536 * GiB)
#define TPL_VCPUS_MAX 32

static struct val *tpl_recommendations(struct arena *a, const struct tpl *p)
{
    return val_string(a, arena_printf(a,
                                      "<restrictions>"
                                      "<restriction field=\"memory-static-max\" max=\"%lld\" />"
                                      "<restriction field=\"vcpus-max\" max=\"%d\" />"
                                      "<restriction field=\"has-vendor-device\" value=\"%s\" />"
                                      "<restriction field=\"allow-gpu-passthrough\" value=\"1\" />"
                                      "<restriction field=\"allow-vgpu\" value=\"1\" />"
                                      "<restriction property=\"number-of-vbds\" max=\"255\" />"
                                      "<restriction property=\"number-of-vifs\" max=\"7\" />"
                                      "</restrictions>",
                                      (long long)TPL_MEMORY_MAX, TPL_VCPUS_MAX,
                                      p->os == TPL_WINDOWS ? "true" : "false"));
}

static struct val *tpl_other_config(struct arena *a, const struct tpl *p)
{
    struct val *m = val_struct(a);
    val_struct_add(a, m, "default_template", val_string(a, "true"));
    val_struct_add(a, m, "base_template_name", val_string(a, p->name));
    val_struct_add(a, m, "install-methods",
                   val_string(a, p->os == TPL_LINUX ? "cdrom,nfs,http,ftp" : "cdrom"));
    if (p->os == TPL_LINUX)
        val_struct_add(a, m, "linux_template", val_string(a, "true"));
    if (p->distro)
        val_struct_add(a, m, "install-distro", val_string(a, p->distro));
    if (p->release)
        val_struct_add(a, m, "debian-release", val_string(a, p->release));
    const char *disks = p->disk
                            ? arena_printf(a,
                                           "<provision><disk device=\"0\" size=\"%lld\" sr=\"\" "
                                           "bootable=\"true\" type=\"system\"/></provision>",
                                           (long long)p->disk)
                            : "<provision></provision>";
    val_struct_add(a, m, "disks", val_string(a, disks));
    return m;
}

static struct val *tpl_platform(struct arena *a, const struct tpl *p)
{
    static const char *const common[] = {"timeoffset", "0",   "nx",   "true", "acpi", "1", "apic",
                                         "true",       "pae", "true", "hpet", "true", NULL};
    struct val *m = val_struct_of_strings(a, common);
    val_struct_add(a, m, "device-model",
                   val_string(a, p->uefi ? "qemu-upstream-uefi" : "qemu-upstream-compat"));
    val_struct_add(a, m, "secureboot", val_string(a, p->uefi ? "true" : "false"));
    if (p->os == TPL_WINDOWS) {
        static const char *const win[] = {"viridian",
                                          "true",
                                          "viridian_time_ref_count",
                                          "true",
                                          "viridian_reference_tsc",
                                          "true",
                                          "viridian_apic_assist",
                                          "true",
                                          "viridian_crash_ctl",
                                          "true",
                                          "viridian_stimer",
                                          "true",
                                          "device_id",
                                          "0002",
                                          NULL};
        for (const char *const *kv = win; kv[0]; kv += 2)
            val_struct_add(a, m, kv[0], val_string(a, kv[1]));
    } else {
        val_struct_add(a, m, "viridian", val_string(a, "false"));
    }
    return m;
}

static struct val *tpl_boot_params(struct arena *a, const struct tpl *p)
{
    struct val *m = val_struct(a);
    val_struct_add(a, m, "order", val_string(a, p->os == TPL_WINDOWS ? "dc" : "cdn"));
    if (p->uefi)
        val_struct_add(a, m, "firmware", val_string(a, "uefi"));
    return m;
}

/* Whether a template named name is already there. */
static bool tpl_present(struct db *db, const char *name)
{
    struct db_obj *found[16];
    size_t n = db_get_by_name_label(db, API_C_VM, name, found, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        if (db_obj_bool(found[i], API_F_VM_is_a_template))
            return true;
    return false;
}

static void tpl_create(struct db_txn *t, struct arena *a, const struct tpl *p, int64_t now)
{
    struct db_values m = db_values_new(a, API_C_VM_metrics);
    struct val *stamp = api_value_datetime(a, now);
    db_values_set(&m, API_F_VM_metrics_install_time, stamp);
    db_values_set(&m, API_F_VM_metrics_last_updated, stamp);
    db_values_set(&m, API_F_VM_metrics_current_domain_type, val_string(a, "unspecified"));
    struct db_obj *metrics = db_txn_create(t, API_C_VM_metrics, &m, NULL);

    struct db_values v = db_values_new(a, API_C_VM);
    db_values_set(&v, API_F_VM_name_label, val_string(a, p->name));
    db_values_set(&v, API_F_VM_name_description, val_string(a, p->description));
    db_values_set(&v, API_F_VM_power_state, val_string(a, "Halted"));
    db_values_set(&v, API_F_VM_user_version, val_int(a, 1));
    db_values_set(&v, API_F_VM_is_a_template, val_bool(a, true));
    db_values_set(&v, API_F_VM_is_default_template, val_bool(a, true));
    db_values_set(&v, API_F_VM_memory_static_min, val_int(a, p->memory_min));
    db_values_set(&v, API_F_VM_memory_dynamic_min, val_int(a, p->memory));
    db_values_set(&v, API_F_VM_memory_dynamic_max, val_int(a, p->memory));
    db_values_set(&v, API_F_VM_memory_static_max, val_int(a, p->memory));
    db_values_set(&v, API_F_VM_memory_target, val_int(a, p->memory));
    db_values_set(&v, API_F_VM_VCPUs_max, val_int(a, p->vcpus));
    db_values_set(&v, API_F_VM_VCPUs_at_startup, val_int(a, p->vcpus));
    db_values_set(&v, API_F_VM_actions_after_shutdown, val_string(a, "destroy"));
    db_values_set(&v, API_F_VM_actions_after_reboot, val_string(a, "restart"));
    db_values_set(&v, API_F_VM_actions_after_crash, val_string(a, "restart"));
    db_values_set(&v, API_F_VM_HVM_boot_policy, val_string(a, "BIOS order"));
    db_values_set(&v, API_F_VM_HVM_boot_params, tpl_boot_params(a, p));
    db_values_set(&v, API_F_VM_platform, tpl_platform(a, p));
    db_values_set(&v, API_F_VM_other_config, tpl_other_config(a, p));
    db_values_set(&v, API_F_VM_recommendations, tpl_recommendations(a, p));
    db_values_set(&v, API_F_VM_domain_type, val_string(a, "hvm"));
    db_values_set(&v, API_F_VM_metrics, val_string(a, metrics->ref));
    db_txn_create(t, API_C_VM, &v, NULL);
}

void vm_templates_sync(struct xapi_sync *s)
{
    int created = 0;
    for (size_t i = 0; i < sizeof(tpl_table) / sizeof(tpl_table[0]); i++) {
        if (tpl_present(s->x->db, tpl_table[i].name))
            continue;
        tpl_create(s->t, s->a, &tpl_table[i], s->now);
        created++;
    }
    if (created)
        log_info(NULL, "first start: created %d VM templates", created);
}
