/*
 * cli_cmds.c - xe's explicit commands: help, the VM lifecycle, tasks,
 * events and messages. Each is an entry of cli_explicit_cmds[] and a
 * function that reads its parameters, selects its objects and makes
 * XenAPI calls; a command for a new capability is one more entry.
 *
 * A command reads all its own parameters before it selects objects:
 * whatever it did not read is taken as a field=value filter (as
 * upstream's selectors: vm-start power-state=halted --multiple).
 */
#include "cli/cli.h"
#include "db/db.h"

#include <stdlib.h>
#include <string.h>

/* --- selecting VMs --- */

/* How many VMs a command may act on, and which. */
enum cli_many {
    CLI_ONE = 0,       /* exactly one */
    CLI_MULTIPLE = 1,  /* several with --multiple */
    CLI_ALL = 2,       /* every VM that matches */
    CLI_DOM0 = 4,      /* the control domain may be selected */
    CLI_TEMPLATES = 8, /* and templates */
};

/* The VMs a command acts on: the vm= pseudo-field matches a uuid or a
 * name-label; any other field=value filters; templates and the control
 * domain only where the command takes them, as upstream's commands do.
 * Returns how many, or -1 after reporting why not. */
static long cli_vms(struct cli_ctx *c, unsigned how, const char ***refs)
{
    const char *vm = cli_param(c, "vm");
    unsigned many_ok = how & 3;
    bool multiple = many_ok == CLI_MULTIPLE;
    bool many = many_ok == CLI_ALL || (multiple && cli_flag(c, "multiple"));
    static const char *const not_dom0[] = {"is-control-domain", "false", NULL};
    long n = cli_select_from(c, cli_class_find("vm"), !(how & CLI_TEMPLATES),
                             how & CLI_DOM0 ? NULL : not_dom0, refs);
    if (n < 0)
        return -1;
    if (vm) {
        long kept = 0;
        db_read_lock(c->x->db);
        for (long i = 0; i < n; i++) {
            const struct db_obj *o = db_get(c->x->db, API_C_VM, (*refs)[i]);
            if (o && (strcmp(db_obj_str(o, API_F_VM_uuid), vm) == 0 ||
                      strcmp(db_obj_str(o, API_F_VM_name_label), vm) == 0))
                (*refs)[kept++] = (*refs)[i];
        }
        db_read_unlock(c->x->db);
        n = kept;
    }
    if (n == 0)
        return cli_fail(c, "No matching VMs found");
    if (n > 1 && !many)
        return cli_fail(c, multiple ? "Multiple VMs matched: add --multiple to act on all of them"
                                    : "Multiple VMs matched: this command acts on one VM at a "
                                      "time");
    return n;
}

static const char *cli_uuid_of(struct cli_ctx *c, const char *ref)
{
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get_any(c->x->db, ref);
    const char *uuid = "";
    if (o && api_classes[o->cls].uuid_field >= 0)
        uuid =
            arena_strdup(c->a, db_obj_str(o, API_FIELD_ID(o->cls, api_classes[o->cls].uuid_field)));
    db_read_unlock(c->x->db);
    return uuid;
}

/* A call on each selected VM; the others go on when one fails. */
struct cli_vm_op {
    int msg;
    struct val *extra[4]; /* after the VM, NULL-terminated */
};

static int cli_each_vm(struct cli_ctx *c, const struct cli_vm_op *op, const char **refs, long n)
{
    int rc = 0;
    c->collect = n > 1; /* several: each failure as upstream reports it, on stdout */
    for (long i = 0; i < n; i++) {
        struct val *vm = val_string(c->a, refs[i]);
        c->collected = NULL;
        if (!cli_call(c, op->msg, vm, op->extra[0], op->extra[1], op->extra[2], op->extra[3],
                      NULL)) {
            rc = -1;
            if (c->collect)
                cli_print_always(c, arena_printf(c->a, "operation failed on %s: %s",
                                                 cli_uuid_of(c, refs[i]),
                                                 c->collected ? c->collected : ""));
        }
    }
    c->collect = false;
    return rc;
}

/* The host on= names (a uuid or a name-label): 0 with *host (NULL when
 * on= is not given), or -1 after reporting why not. */
static int cli_on_host(struct cli_ctx *c, struct val **host)
{
    const char *on = cli_param(c, "on");
    *host = NULL;
    if (!on)
        return 0;
    const char **hosts;
    long h = cli_lookup(c, cli_class_find("host"), "uuid", on, &hosts);
    if (h == 0)
        h = cli_lookup(c, cli_class_find("host"), "name-label", on, &hosts);
    if (h < 0)
        return -1;
    if (h != 1)
        return cli_fail(c, "on=%s names %s host", on, h ? "more than one" : "no");
    *host = val_string(c->a, hosts[0]);
    return 0;
}

/* vm-start and vm-resume: msg, or msg_on with on=HOST, given (paused,
 * force) after the VM (and the host). */
static int cli_vm_run(struct cli_ctx *c, int msg, int msg_on, bool paused, unsigned how)
{
    bool force = cli_flag(c, "force");
    struct val *host;
    if (cli_on_host(c, &host) < 0)
        return -1;
    const char **refs;
    long n = cli_vms(c, how, &refs);
    if (n < 0)
        return -1;
    struct val *p = val_bool(c->a, paused), *f = val_bool(c->a, force);
    struct cli_vm_op op = {msg, {p, f}};
    if (host)
        op = (struct cli_vm_op){msg_on, {host, p, f}};
    return cli_each_vm(c, &op, refs, n);
}

static int cli_vm_start(struct cli_ctx *c)
{
    return cli_vm_run(c, API_M_VM_start, API_M_VM_start_on, cli_flag(c, "paused"),
                      CLI_MULTIPLE | CLI_DOM0);
}

/* vm-shutdown and vm-reboot: clean, or hard with --force. */
static int cli_vm_stop_or_reboot(struct cli_ctx *c, int clean, int hard)
{
    bool force = cli_flag(c, "force");
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE, &refs);
    if (n < 0)
        return -1;
    struct cli_vm_op op = {force ? hard : clean, {NULL}};
    return cli_each_vm(c, &op, refs, n);
}

static int cli_vm_shutdown(struct cli_ctx *c)
{
    return cli_vm_stop_or_reboot(c, API_M_VM_clean_shutdown, API_M_VM_hard_shutdown);
}

static int cli_vm_reboot(struct cli_ctx *c)
{
    return cli_vm_stop_or_reboot(c, API_M_VM_clean_reboot, API_M_VM_hard_reboot);
}

/* A VM operation with no parameters of its own. */
static int cli_vm_simple(struct cli_ctx *c, int msg)
{
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE, &refs);
    if (n < 0)
        return -1;
    struct cli_vm_op op = {msg, {NULL}};
    return cli_each_vm(c, &op, refs, n);
}

static int cli_vm_suspend(struct cli_ctx *c)
{
    return cli_vm_simple(c, API_M_VM_suspend);
}

static int cli_vm_pause(struct cli_ctx *c)
{
    return cli_vm_simple(c, API_M_VM_pause);
}

static int cli_vm_unpause(struct cli_ctx *c)
{
    return cli_vm_simple(c, API_M_VM_unpause);
}

static int cli_vm_resume(struct cli_ctx *c)
{
    return cli_vm_run(c, API_M_VM_resume, API_M_VM_resume_on, false, CLI_MULTIPLE);
}

/* New VMs from VMs or templates, by clone (of each selected, with
 * --multiple) or copy (of one): prints the new VMs' uuids. */
static int cli_vm_clone_or_copy(struct cli_ctx *c, bool copy)
{
    const char *name = cli_param(c, "new-name-label");
    const char *desc = cli_param(c, "new-name-description");
    const char *sr_uuid = copy ? cli_param(c, "sr-uuid") : NULL;
    struct val *sr = val_string(c->a, "OpaqueRef:NULL");
    if (sr_uuid &&
        !(sr = cli_value_of(c, api_messages[API_M_VM_copy].params[3].type, sr_uuid, "sr-uuid")))
        return -1;
    const char **refs;
    long n = cli_vms(c, (copy ? CLI_ONE : CLI_MULTIPLE) | CLI_TEMPLATES, &refs);
    if (n < 0)
        return -1;
    const char **made = arena_alloc(c->a, (size_t)n * sizeof(*made));
    long done = 0;
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        struct val *vm = val_string(c->a, refs[i]), *nl = val_string(c->a, name);
        struct val *v = copy ? cli_call(c, API_M_VM_copy, vm, nl, sr, NULL)
                             : cli_call(c, API_M_VM_clone, vm, nl, NULL);
        if (!v) {
            rc = -1;
            break;
        }
        made[done++] = cli_uuid_of(c, val_str(v));
        if (desc && !cli_call(c, API_M_VM_set_name_description, v, val_string(c->a, desc), NULL))
            rc = -1;
    }
    cli_print_list(c, made, (size_t)done); /* what was made, even when the rest failed */
    return rc;
}

static int cli_vm_clone(struct cli_ctx *c)
{
    return cli_vm_clone_or_copy(c, false);
}

static int cli_vm_copy(struct cli_ctx *c)
{
    return cli_vm_clone_or_copy(c, true);
}

/* The provision document with every disk's sr attribute set to uuid. */
static const char *cli_disks_on(struct cli_ctx *c, const char *disks, const char *uuid)
{
    struct buf b = BUF_INIT;
    for (const char *p = disks; *p;) {
        const char *at = strstr(p, " sr=\"");
        const char *end = at ? strchr(at + 5, '"') : NULL;
        if (!end) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(at - p));
        buf_printf(&b, " sr=\"%s\"", uuid);
        p = end + 1;
    }
    const char *out = arena_strdup(c->a, b.data ? b.data : "");
    buf_free(&b);
    return out;
}

/* The template vm-install starts from: template= (or template-uuid=,
 * template-name-label=, template-name=) as a uuid or a name-label. */
static const char *cli_template(struct cli_ctx *c)
{
    const char *keys[] = {"template", "template-uuid", "template-name-label", "template-name"};
    const char *want = NULL;
    for (size_t i = 0; i < 4; i++)
        if (!want)
            want = cli_param(c, keys[i]);
    if (!want) {
        cli_fail(c, "name the template to install from with template=");
        return NULL;
    }
    const char **refs;
    const struct cli_class *templates = cli_class_find("template");
    long n = cli_lookup(c, templates, "uuid", want, &refs);
    if (n == 0)
        n = cli_lookup(c, templates, "name-label", want, &refs);
    if (n < 0)
        return NULL;
    if (n != 1) {
        cli_fail(c,
                 n ? "Several templates are called '%s': give its uuid"
                   : "No template is called '%s'",
                 want);
        return NULL;
    }
    return refs[0];
}

/* vm-install: a VM cloned from a template, its disks put on the SR given
 * (sr-uuid= or sr-name-label=; else the pool's default SR), provisioned;
 * prints its uuid. A VM that cannot be provisioned is not left behind. */
static int cli_vm_install(struct cli_ctx *c)
{
    const char *name = cli_param(c, "new-name-label");
    const char *sr_uuid = cli_param(c, "sr-uuid"), *sr_name = cli_param(c, "sr-name-label");
    const char *sr = NULL;
    if (sr_uuid || sr_name) {
        const char **srs;
        long n = cli_lookup(c, cli_class_find("sr"), sr_uuid ? "uuid" : "name-label",
                            sr_uuid ? sr_uuid : sr_name, &srs);
        if (n < 0)
            return -1;
        if (n != 1)
            return cli_fail(c, "%s names %s SR", sr_uuid ? "sr-uuid" : "sr-name-label",
                            n ? "more than one" : "no");
        sr = cli_uuid_of(c, srs[0]);
    }
    const char *tmpl = cli_template(c);
    if (!tmpl)
        return -1;
    struct val *vm =
        cli_call(c, API_M_VM_clone, val_string(c->a, tmpl), val_string(c->a, name), NULL);
    if (!vm)
        return -1;
    struct val *disks_key = val_string(c->a, "disks");
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get(c->x->db, API_C_VM, val_str(vm));
    const struct val *oc = o ? db_obj_field(o, API_F_VM_other_config) : NULL;
    const struct val *disks = oc ? val_struct_get(oc, "disks") : NULL;
    const char *spec = disks ? arena_strdup(c->a, val_str(disks)) : NULL;
    db_read_unlock(c->x->db);
    bool ok = cli_call(c, API_M_VM_set_name_description, vm,
                       val_string(c->a, "Installed via xe CLI"), NULL) != NULL;
    if (ok && sr && spec)
        ok = cli_call(c, API_M_VM_remove_from_other_config, vm, disks_key, NULL) &&
             cli_call(c, API_M_VM_add_to_other_config, vm, disks_key,
                      val_string(c->a, cli_disks_on(c, spec, sr)), NULL);
    if (!ok || !cli_call(c, API_M_VM_provision, vm, NULL)) {
        bool progress = c->progress;
        c->progress = false;
        cli_call(c, API_M_VM_destroy, vm, NULL); /* no half-installed VM is left */
        c->progress = progress;
        return -1;
    }
    const char *uuid = cli_uuid_of(c, val_str(vm));
    cli_print_list(c, &uuid, 1);
    return 0;
}

/* Asks the person at the client to type yes, as upstream does before a
 * destructive command without --force. */
static bool cli_user_says_yes(struct cli_ctx *c)
{
    cli_print_always(c, "Type 'yes' to continue");
    const char *answer = cli_prompt(c);
    bool ok = answer && strcmp(answer, "yes") == 0;
    if (answer && !ok)
        cli_print_always(c, arena_printf(c->a, "Aborted (you typed: '%s')", answer));
    return ok;
}

/* What vm-uninstall destroys of one VM: the VM, and the VDIs of its
 * VBDs that say they own their disk (other-config:owner), and its
 * suspend image. Lines describe them, as upstream lists them. */
struct cli_doomed {
    const char **refs; /* VMs first, then VDIs */
    bool *is_vm;
    const char **lines; /* printed once the lock is let go */
    size_t n, cap;
};

static void cli_doom(struct cli_ctx *c, struct cli_doomed *d, const struct db_obj *o, bool vm)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->refs[i], o->ref) == 0)
            return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        d->refs = arena_realloc(c->a, d->refs, d->cap * sizeof(*d->refs), cap * sizeof(*d->refs));
        d->is_vm =
            arena_realloc(c->a, d->is_vm, d->cap * sizeof(*d->is_vm), cap * sizeof(*d->is_vm));
        d->lines =
            arena_realloc(c->a, d->lines, d->cap * sizeof(*d->lines), cap * sizeof(*d->lines));
        d->cap = cap;
    }
    d->refs[d->n] = arena_strdup(c->a, o->ref);
    d->is_vm[d->n] = vm;
    const char *line;
    if (vm) {
        line = arena_printf(c->a, "VM : %s (%s)", db_obj_str(o, API_F_VM_uuid),
                            db_obj_str(o, API_F_VM_name_label));
    } else {
        const struct val *vbds = db_obj_field(o, API_F_VDI_VBDs);
        line = arena_printf(c->a, "VDI: %s (%s) %s", db_obj_str(o, API_F_VDI_uuid),
                            db_obj_str(o, API_F_VDI_name_label),
                            vbds && vbds->u.arr.n > 1 ? " ** WARNING: disk is shared by other VMs"
                                                      : "");
    }
    d->lines[d->n++] = line;
}

/* One VM's part (hold the read lock). */
static void cli_doom_vm(struct cli_ctx *c, struct cli_doomed *d, const struct db_obj *vm)
{
    cli_doom(c, d, vm, true);
    const struct db_obj *vbd, *vdi;
    for (size_t i = 0; (vbd = db_obj_next(c->x->db, vm, API_F_VM_VBDs, &i));) {
        const struct val *oc = db_obj_field(vbd, API_F_VBD_other_config);
        if ((vdi = db_obj_follow(c->x->db, vbd, API_F_VBD_VDI)) && oc &&
            val_struct_get(oc, "owner"))
            cli_doom(c, d, vdi, false);
    }
    if ((vdi = db_obj_follow(c->x->db, vm, API_F_VM_suspend_VDI)))
        cli_doom(c, d, vdi, false);
}

/* vm-uninstall: the selected VMs and their snapshots, with the disks
 * they own, after listing them and asking (--force: without asking);
 * a VM that runs is shut down first. */
static int cli_vm_uninstall(struct cli_ctx *c)
{
    bool force = cli_flag(c, "force");
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE, &refs);
    if (n < 0)
        return -1;
    struct cli_doomed d = {0};
    db_read_lock(c->x->db);
    for (long i = 0; i < n; i++) {
        const struct db_obj *vm = db_get(c->x->db, API_C_VM, refs[i]), *snap;
        if (!vm)
            continue;
        cli_doom_vm(c, &d, vm);
        for (size_t k = 0; (snap = db_obj_next(c->x->db, vm, API_F_VM_snapshots, &k));)
            cli_doom_vm(c, &d, snap);
    }
    db_read_unlock(c->x->db);
    cli_print_always(c, "The following items are about to be destroyed");
    for (size_t i = 0; i < d.n; i++)
        cli_print_always(c, d.lines[i]);
    if (!force && !cli_user_says_yes(c))
        return 0;
    int rc = 0;
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        struct val *ref = val_string(c->a, d.refs[i]);
        if (d.is_vm[i]) {
            db_read_lock(c->x->db);
            const struct db_obj *vm = db_get(c->x->db, API_C_VM, d.refs[i]);
            bool halted = !vm || strcmp(db_obj_str(vm, API_F_VM_power_state), "Halted") == 0;
            db_read_unlock(c->x->db);
            if (!halted && !cli_call(c, API_M_VM_hard_shutdown, ref, NULL))
                rc = -1;
            if (rc == 0 && !cli_call(c, API_M_VM_destroy, ref, NULL))
                rc = -1;
        } else if (!cli_call(c, API_M_VDI_destroy, ref, NULL)) {
            rc = -1;
        }
    }
    if (rc == 0)
        cli_print_always(c, "All objects destroyed");
    return rc;
}

/* An integer parameter the command requires; NULL after reporting. */
static struct val *cli_int_param(struct cli_ctx *c, const char *key)
{
    static const struct api_type int_type = {.kind = API_INT, .cls = -1, .text = "int"};
    return cli_value_of(c, &int_type, cli_param(c, key), key);
}

static int cli_vm_memory_limits_set(struct cli_ctx *c)
{
    struct val *smin = cli_int_param(c, "static-min"), *smax = cli_int_param(c, "static-max");
    struct val *dmin = cli_int_param(c, "dynamic-min"), *dmax = cli_int_param(c, "dynamic-max");
    if (!smin || !smax || !dmin || !dmax)
        return -1;
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE | CLI_DOM0 | CLI_TEMPLATES, &refs);
    if (n < 0)
        return -1;
    struct cli_vm_op op = {API_M_VM_set_memory_limits, {smin, smax, dmin, dmax}};
    return cli_each_vm(c, &op, refs, n);
}

static int cli_vm_vcpu_hotplug(struct cli_ctx *c)
{
    struct val *nv = cli_int_param(c, "new-vcpus");
    if (!nv)
        return -1;
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE, &refs);
    if (n < 0)
        return -1;
    struct cli_vm_op op = {API_M_VM_set_VCPUs_number_live, {nv}};
    return cli_each_vm(c, &op, refs, n);
}

/* Prints the chosen fields of objects given by ref. */
static void cli_print_objects(struct cli_ctx *c, const char *cls_name, const char **refs, size_t n,
                              const char *params, const char *const *defaults)
{
    const struct cli_class *cc = cli_class_find(cls_name);
    struct cli_kv **recs = arena_alloc(c->a, (n + 1) * sizeof(*recs));
    size_t *counts = arena_zalloc(c->a, (n + 1) * sizeof(*counts));
    db_read_lock(c->x->db);
    for (size_t r = 0; r < n; r++) {
        recs[r] = arena_alloc(c->a, (cc->n_fields + 1) * sizeof(**recs));
        const struct db_obj *o = db_get(c->x->db, cc->cls, refs[r]);
        for (size_t i = 0; o && i < cc->n_fields; i++) {
            const struct cli_field *f = &cc->fields[i];
            bool want = false;
            if (params && strcmp(params, "all") == 0)
                want = !(f->flags & CLI_F_HIDDEN);
            for (const char *const *d = defaults; !params && *d; d++)
                want |= strcmp(*d, f->name) == 0;
            for (const char *p = params; p && *p && strcmp(params, "all") != 0;) {
                size_t len = strcspn(p, ",");
                want |= len == strlen(f->name) && strncmp(p, f->name, len) == 0;
                p += len + (p[len] == ',');
            }
            const char *v = want ? cli_field_text(c, o, f) : NULL;
            if (v)
                recs[r][counts[r]++] = (struct cli_kv){cli_field_key(c, f), v};
        }
    }
    db_read_unlock(c->x->db);
    cli_print_records(c, recs, counts, n);
}

/* The refs in a ref-set field of the object ref (hold no lock). */
static size_t cli_refs_of(struct cli_ctx *c, const char *ref, api_field_id set, const char ***out)
{
    db_read_lock(c->x->db);
    const struct db_obj *o = db_get_any(c->x->db, ref), *m;
    const struct val *v = o ? db_obj_field(o, set) : NULL;
    size_t n = 0, cap = v ? v->u.arr.n + 1 : 1;
    const char **refs = arena_alloc(c->a, cap * sizeof(*refs));
    for (size_t i = 0; o && (m = db_obj_next(c->x->db, o, set, &i));)
        refs[n++] = arena_strdup(c->a, m->ref);
    db_read_unlock(c->x->db);
    *out = refs;
    return n;
}

static int cli_vm_vif_list(struct cli_ctx *c)
{
    static const char *const defaults[] = {
        "uuid", "device", "MAC", "network-uuid", "network-name-label", "vm-name-label", NULL};
    const char *params = cli_param(c, "params");
    const char **refs;
    long n = cli_vms(c, CLI_ALL, &refs);
    for (long i = 0; i < n; i++) {
        const char **vifs;
        size_t k = cli_refs_of(c, refs[i], API_F_VM_VIFs, &vifs);
        cli_print_objects(c, "vif", vifs, k, params, defaults);
    }
    return n < 0 ? -1 : 0;
}

static int cli_vm_disk_list(struct cli_ctx *c)
{
    static const char *const vbd_defaults[] = {"uuid", "vm-name-label", "userdevice", NULL};
    static const char *const vdi_defaults[] = {"uuid", "name-label", "virtual-size",
                                               "sr-name-label", NULL};
    const char *vbd_params = cli_param(c, "vbd-params"), *vdi_params = cli_param(c, "vdi-params");
    const char **refs;
    long n = cli_vms(c, CLI_MULTIPLE, &refs);
    for (long i = 0; i < n; i++) {
        const char **vbds;
        size_t k = cli_refs_of(c, refs[i], API_F_VM_VBDs, &vbds);
        for (size_t d = 0, shown = 0; d < k; d++) {
            db_read_lock(c->x->db);
            const struct db_obj *vbd = db_get(c->x->db, API_C_VBD, vbds[d]);
            bool disk = vbd && strcmp(db_obj_str(vbd, API_F_VBD_type), "Disk") == 0;
            const struct db_obj *vdi = disk ? db_obj_follow(c->x->db, vbd, API_F_VBD_VDI) : NULL;
            const char *vdi_ref = vdi ? arena_strdup(c->a, vdi->ref) : NULL;
            db_read_unlock(c->x->db);
            if (!disk)
                continue;
            cli_print(c, arena_printf(c->a, "Disk %zu VBD:", shown));
            cli_print_objects(c, "vbd", &vbds[d], 1, vbd_params, vbd_defaults);
            if (vdi_ref) {
                cli_print(c, arena_printf(c->a, "Disk %zu VDI:", shown));
                cli_print_objects(c, "vdi", &vdi_ref, 1, vdi_params, vdi_defaults);
            }
            shown++;
        }
    }
    return n < 0 ? -1 : 0;
}

static int cli_task_cancel(struct cli_ctx *c)
{
    struct val *task = cli_value_of(c, api_messages[API_M_task_cancel].params[1].type,
                                    cli_param(c, "uuid"), "uuid");
    return task && cli_call(c, API_M_task_cancel, task, NULL) ? 0 : -1;
}

static int cli_message_create(struct cli_ctx *c)
{
    static const struct {
        const char *param;
        const char *cls;
    } about[] = {
        {"vm-uuid", "VM"}, {"host-uuid", "Host"}, {"sr-uuid", "SR"}, {"pool-uuid", "Pool"}};
    const char *name = cli_param(c, "name"), *body = cli_param(c, "body");
    struct val *prio = cli_int_param(c, "priority");
    const char *cls = NULL, *uuid = NULL;
    for (size_t i = 0; i < sizeof(about) / sizeof(about[0]); i++)
        if ((uuid = cli_param(c, about[i].param))) {
            cls = about[i].cls;
            break;
        }
    if (!prio)
        return -1;
    if (!cls)
        return cli_fail(c, "say what the message is about: vm-uuid=, host-uuid=, sr-uuid= or "
                           "pool-uuid=");
    struct val *made =
        cli_call(c, API_M_message_create, val_string(c->a, name), prio, val_string(c->a, cls),
                 val_string(c->a, uuid), val_string(c->a, body), NULL);
    return made ? 0 : -1;
}

/* --- blobs --- */

/* blob-create name= [mime-type=] [public=] [vm-uuid= | host-uuid= |
 * sr-uuid= | network-uuid= | pool-uuid=]: prints the new blob's uuid. */
static int cli_blob_create(struct cli_ctx *c)
{
    static const struct {
        const char *param;
        int msg;
    } owners[] = {{"vm-uuid", API_M_VM_create_new_blob},
                  {"host-uuid", API_M_host_create_new_blob},
                  {"sr-uuid", API_M_SR_create_new_blob},
                  {"network-uuid", API_M_network_create_new_blob},
                  {"pool-uuid", API_M_pool_create_new_blob}};
    const char *name = cli_param(c, "name"), *mime = cli_param(c, "mime-type");
    const char *pub = cli_param(c, "public");
    struct val *public = val_bool(c->a, false);
    if (pub &&
        !(public = cli_value_of(c, api_messages[API_M_blob_create].params[2].type, pub, "public")))
        return -1;
    struct val *made = NULL;
    for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]) && !made; i++) {
        const char *uuid = cli_param(c, owners[i].param);
        if (!uuid)
            continue;
        const struct api_message *m = &api_messages[owners[i].msg];
        struct val *owner = cli_value_of(c, m->params[1].type, uuid, owners[i].param);
        if (!owner)
            return -1;
        made = cli_call(c, owners[i].msg, owner, val_string(c->a, name),
                        val_string(c->a, mime ? mime : ""), public, NULL);
        if (!made)
            return -1;
    }
    if (!made)
        return cli_fail(c, "say whose blob it is: vm-uuid=, host-uuid=, sr-uuid=, network-uuid= "
                           "or pool-uuid=");
    const char *uuid = cli_uuid_of(c, val_str(made));
    cli_print_list(c, &uuid, 1);
    return 0;
}

/* blob-put and blob-get: the client sends or fetches filename= itself,
 * on a connection of its own, to /blob in this command's session. */
static int cli_blob_transfer(struct cli_ctx *c, bool put)
{
    const char *file = cli_param(c, "filename");
    struct val *blob = cli_value_of(c, api_messages[API_M_blob_destroy].params[1].type,
                                    cli_param(c, "uuid"), "uuid");
    if (!blob)
        return -1;
    const char *url = arena_printf(c->a, "/blob?session_id=%s&ref=%s", c->session, val_str(blob));
    if (cli_http_transfer(c, put, file, url) < 0)
        return cli_fail(c, "the %s of %s did not complete", put ? "upload" : "download", file);
    return 0;
}

static int cli_blob_put(struct cli_ctx *c)
{
    return cli_blob_transfer(c, true);
}

static int cli_blob_get(struct cli_ctx *c)
{
    return cli_blob_transfer(c, false);
}

/* event-wait class= field=value ...: returns once an object of the
 * class matches every condition (field=/=value: does not equal). */
static int cli_event_wait(struct cli_ctx *c)
{
    const struct cli_class *cc = cli_class_find(cli_param(c, "class"));
    if (!cc)
        return cli_fail(c, "no class %s", cli_param(c, "class"));
    c->negations = true;
    struct buf token = BUF_INIT;
    buf_puts(&token, "");
    struct arena *outer = c->a;
    int rc = 1;
    /* each pass in an arena of its own: the wait may last for days */
    while (rc > 0) {
        c->a = arena_new();
        const char **refs;
        long n = cli_select_from(c, cc, false, NULL, &refs); /* every object of the class */
        struct val *classes = val_array(c->a), *r = NULL;
        val_array_push(c->a, classes, val_string(c->a, api_classes[cc->cls].lc_name));
        if (n != 0)
            rc = n < 0 ? -1 : 0;
        else if (cli_client_gone(c) || atomic_load(&c->x->quiescing))
            rc = cli_fail(c, "stopped waiting");
        else if (!(r = cli_call(c, API_M_event_from, classes, val_string(c->a, token.data),
                                val_float(c->a, 30.0), NULL)))
            rc = -1;
        const struct val *t = r ? val_struct_get(r, "token") : NULL;
        if (t && val_str(t)) {
            buf_reset(&token);
            buf_puts(&token, val_str(t));
        }
        arena_free(c->a);
        c->a = outer;
    }
    buf_free(&token);
    return rc;
}

/* help [--all] [command ...]: what a command takes, or the commands. */
struct cli_help {
    struct cli_ctx *c;
    struct buf line;
    bool all;
};

static void cli_help_add(void *ctx, const struct cli_cmd *cmd)
{
    struct cli_help *h = ctx;
    if (cmd->flags & CLI_CMD_HIDDEN)
        return;
    if (!h->all && !(cmd->flags & CLI_CMD_STANDARD))
        return;
    if (h->c->minimal) {
        cli_print_list(h->c, &cmd->name, 1);
        return;
    }
    if (h->line.len && h->line.len + strlen(cmd->name) > 74) {
        cli_print(h->c, h->line.data);
        buf_reset(&h->line);
    }
    buf_puts(&h->line, h->line.len ? ", " : "    ");
    buf_puts(&h->line, cmd->name);
}

static void cli_help_cmd(struct cli_ctx *c, const char *name)
{
    struct cli_cmd cmd;
    if (!cli_cmd_find(c->a, name, &cmd)) {
        const char *msg = arena_printf(c->a, "Unknown command '%s'", name);
        cli_print_list(c, &msg, 1);
        return;
    }
    const char *sel = cmd.flags & CLI_CMD_VM_SELECTORS     ? "<vm-selectors>"
                      : cmd.flags & CLI_CMD_HOST_SELECTORS ? "<host-selectors>"
                                                           : NULL;
    const char *optn = cmd.optn ? cmd.optn : "";
    if (sel)
        optn = *optn ? arena_printf(c->a, "%s,%s", optn, sel) : sel;
    struct buf r = BUF_INIT, o = BUF_INIT;
    for (const char *p = cmd.reqd ? cmd.reqd : ""; *p; p++)
        buf_puts(&r, *p == ',' ? ", " : (char[]){*p, 0});
    for (const char *p = optn; *p; p++)
        buf_puts(&o, *p == ',' ? ", " : (char[]){*p, 0});
    const char *help = cmd.help;
    if (sel)
        help = arena_printf(c->a,
                            "%s The %s are selected by field=value (the pseudo-field %s "
                            "matches a uuid or a name-label); where several match, "
                            "--multiple acts on all of them.",
                            help, sel[1] == 'v' ? "VMs" : "hosts", sel[1] == 'v' ? "vm" : "host");
    struct cli_kv kv[] = {{"command name        ", cmd.name},
                          {"reqd params     ", r.data ? r.data : ""},
                          {"optional params ", o.data ? o.data : ""},
                          {"description     ", help}};
    struct cli_kv *recs[] = {kv};
    size_t counts[] = {4};
    cli_print_records(c, recs, counts, 1);
    buf_free(&r);
    buf_free(&o);
}

static int cli_help(struct cli_ctx *c)
{
    bool all = cli_flag(c, "all");
    bool any = false;
    for (size_t i = 0; i < c->n_params; i++) {
        const char *k = c->params[i].key;
        if (c->params[i].used || strcmp(k, "all") == 0 || strcmp(k, "minimal") == 0 ||
            strcmp(k, "username") == 0 || strcmp(k, "password") == 0 || strcmp(k, "server") == 0 ||
            strcmp(k, "port") == 0)
            continue;
        cli_help_cmd(c, k);
        any = true;
    }
    if (any)
        return 0;
    if (!c->minimal)
        cli_print(c, "Usage:\n  xe <command> [ -s <server> ] [ -p <port> ] [ -u <username> "
                     "-pw <password> | -pwf <password file> ]\n"
                     "     [ --nossl ] [ --debug ] [ --minimal ] [ --progress ] "
                     "[ <parameter>=<value> ... ]\n\n"
                     "Help on a command: xe help <command>\n");
    cli_print(c, all ? "All the commands:" : "Common commands (xe help --all lists them all):");
    struct cli_help h = {c, BUF_INIT, all};
    cli_cmd_each(c->a, cli_help_add, &h);
    if (h.line.len)
        cli_print(c, h.line.data);
    buf_free(&h.line);
    return 0;
}

#define VM_CMD (CLI_CMD_VM_SELECTORS | CLI_CMD_STANDARD)

const struct cli_cmd cli_explicit_cmds[] = {
    {"help", "", "all", "Describes a command, or lists the commands.", cli_help, CLI_CMD_STANDARD,
     NULL},
    {"vm-start", "", "force,on,paused", "Starts the selected VMs (on= a host).", cli_vm_start,
     VM_CMD, NULL},
    {"vm-shutdown", "", "force", "Shuts the selected VMs down (--force: at once).", cli_vm_shutdown,
     VM_CMD, NULL},
    {"vm-reboot", "", "force", "Reboots the selected VMs (--force: at once).", cli_vm_reboot,
     VM_CMD, NULL},
    {"vm-suspend", "", "", "Suspends the selected VMs.", cli_vm_suspend, VM_CMD, NULL},
    {"vm-resume", "", "force,on", "Resumes the selected suspended VMs.", cli_vm_resume, VM_CMD,
     NULL},
    {"vm-pause", "", "", "Pauses the selected VMs.", cli_vm_pause, VM_CMD, NULL},
    {"vm-unpause", "", "", "Unpauses the selected VMs.", cli_vm_unpause, VM_CMD, NULL},
    {"vm-clone", "new-name-label", "new-name-description",
     "Clones the selected VM; prints the new VM's uuid.", cli_vm_clone, VM_CMD, NULL},
    {"vm-copy", "new-name-label", "new-name-description,sr-uuid",
     "Copies the selected VM; prints the new VM's uuid.", cli_vm_copy, VM_CMD, NULL},
    {"vm-install", "new-name-label", "template,sr-uuid,sr-name-label",
     "Installs a VM from a template (template= its uuid or name-label); prints its uuid.",
     cli_vm_install, CLI_CMD_STANDARD, NULL},
    {"vm-uninstall", "", "force",
     "Destroys the selected VM and its disks, after asking (--force: without asking).",
     cli_vm_uninstall, VM_CMD, NULL},
    {"vm-memory-limits-set", "static-min,static-max,dynamic-min,dynamic-max", "",
     "Sets the selected VMs' four memory limits at once.", cli_vm_memory_limits_set,
     CLI_CMD_VM_SELECTORS, NULL},
    {"vm-vcpu-hotplug", "new-vcpus", "", "Sets the number of VCPUs of running VMs.",
     cli_vm_vcpu_hotplug, CLI_CMD_VM_SELECTORS, NULL},
    {"vm-vif-list", "", "params", "Lists the VIFs of the selected VMs.", cli_vm_vif_list, VM_CMD,
     NULL},
    {"vm-disk-list", "", "vbd-params,vdi-params", "Lists the disks of the selected VMs.",
     cli_vm_disk_list, VM_CMD, NULL},
    {"task-cancel", "uuid", "", "Cancels a task.", cli_task_cancel, 0, NULL},
    {"event-wait", "class", "",
     "Waits until an object of the class matches field=value (field=/=value: differs) for "
     "every condition given.",
     cli_event_wait, 0, NULL},
    {"message-create", "name,priority,body", "vm-uuid,host-uuid,sr-uuid,pool-uuid",
     "Creates a message about an object.", cli_message_create, 0, NULL},
    {"blob-create", "name", "mime-type,public,vm-uuid,host-uuid,sr-uuid,network-uuid,pool-uuid",
     "Creates a blob kept with an object; prints its uuid.", cli_blob_create, CLI_CMD_HIDDEN, NULL},
    {"blob-put", "uuid,filename", "", "Stores the file as the blob's data.", cli_blob_put,
     CLI_CMD_HIDDEN, NULL},
    {"blob-get", "uuid,filename", "", "Fetches the blob's data into the file.", cli_blob_get,
     CLI_CMD_HIDDEN, NULL},
    {NULL, NULL, NULL, NULL, NULL, 0, NULL},
};
