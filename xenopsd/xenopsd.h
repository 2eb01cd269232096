/*
 * xenopsd.h - the domain manager's context and the objects it manages:
 * VMs (registered metadata plus power state and domid), their VBDs and
 * VIFs, and the operations queued on them.
 *
 * Locking: x->lock covers the VM and device maps, every field of a VM and
 * device below "state" and the operation queues. Tasks and updates have
 * their own locks, taken after x->lock when both are needed. A VM's
 * persist_lock orders the writes of its file and is taken before x->lock.
 * Slow work (xenstore, waiting for a guest, files) happens outside
 * x->lock.
 */
#ifndef XO_XENOPSD_H
#define XO_XENOPSD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "backend.h"
#include "hmap.h"
#include "lifecycle.h"
#include "tasks.h"
#include "updates.h"
#include "value.h"
#include "xs_client.h"
#include "xstree.h"

#define XO_ID_MAX 64

enum xo_dev_kind { XO_VBD, XO_VIF };

struct xo_dev {
    enum xo_dev_kind kind;
    char id[XO_ID_MAX];
    char vm_id[XO_ID_MAX];
    struct val *config; /* as added, flattened */
    int position, devid;
    char device[16]; /* VBD: "xvda"...; VIF: its position */
    /* state */
    bool plugged;
};

enum xo_op_kind {
    XO_OP_START,
    XO_OP_SHUTDOWN,
    XO_OP_REBOOT,
    XO_OP_SUSPEND,
    XO_OP_RESUME,
    XO_OP_PAUSE,
    XO_OP_UNPAUSE,
    XO_OP_PLUG,
    XO_OP_UNPLUG,
    XO_OP_REAP, /* the guest left on its own: follow it */
    XO_OP_SET_VCPUS,
    XO_OP_SET_MEMORY,
    XO_OP_REWRITE, /* xenstored restarted: write the domain's tree again */
};

struct xo_vm;

struct xo_op {
    enum xo_op_kind kind;
    struct xo_vm *vm;       /* a reference */
    struct xo_task *task;   /* NULL for XO_OP_REAP */
    bool paused;            /* start */
    int64_t timeout_s;      /* shutdown, reboot: -1 = hard */
    char *path;             /* suspend, resume */
    char dev_id[XO_ID_MAX]; /* plug, unplug */
    enum xo_dev_kind dev_kind;
    int domid;                /* reap: the domain that left */
    int vcpus;                /* set_vcpus */
    int64_t mem_min, mem_max; /* set_memory: the dynamic range */
    struct xo_op *next;
};

struct xo_vm {
    char id[XO_ID_MAX];
    struct val *config; /* as added, flattened; the fields below come from it */
    const char *name, *guest;
    int64_t memory_static_max, memory_dynamic_max, memory_dynamic_min;
    int vcpus_max, vcpus;
    bool hvm;
    /* state */
    enum xo_power power;
    int domid;
    int64_t start_time;
    struct val *guest_info; /* flattened, from the guest's xenstore keys */
    int64_t guest_updated;
    struct xo_dev **devs;
    size_t ndevs, devcap;
    /* queue */
    struct xo_op *q_head, *q_tail;
    bool busy, ready; /* an operation runs; on x's ready list */
    struct xo_vm *ready_next;
    int refs;
    bool removed;
    pthread_mutex_t persist_lock;
};

struct xo_guestinfo;
struct xo_worker;

struct xenopsd {
    char *state_dir, *run_dir;
    char *vm_dir;  /* STATE/xenopsd: one file per VM */
    char *xs_path; /* RUNDIR/xenstored.sock */
    struct xo_backend backend;
    struct xo_updates *updates;
    struct xo_tasks *tasks;
    struct xo_guestinfo *guestinfo;
    int64_t suspend_ack_ms; /* how long a guest has to answer a suspend request */

    pthread_mutex_t lock;
    pthread_cond_t work; /* a VM joined the ready list, or stopping */
    struct hmap *vms, *devs;
    struct hmap *queued; /* task id -> its operation, until a worker takes it */
    struct xo_vm *ready_head, *ready_tail;
    bool stopping;
    int nworkers;
    struct xo_worker *workers;
    /* A change stayed in memory that could not be saved (xo_diverged):
     * no more work is taken, and on_diverged (main.c: stop, for the
     * supervisor to restart xenopsd from what is on disk) runs once. */
    atomic_bool diverged;
    void (*on_diverged)(struct xenopsd *x);
};

/* registry.c: the VM and device maps, and the calls that answer at once. */
/* Memory holds what the disk could not take (what says which save failed):
 * from now on every call that would change anything is refused, and
 * x->on_diverged runs, once. Memory must never quietly differ from the
 * files a restart reads. */
void xo_diverged(struct xenopsd *x, const char *what);
/* 0, or -1 with INTERNAL_ERROR once xenopsd has diverged. */
int xo_refuse_diverged(struct xenopsd *x, struct arena *a, struct val **err);
void xo_init(struct xenopsd *x);
void xo_destroy(struct xenopsd *x);
/* The VM with id, with a reference taken; NULL if none. */
struct xo_vm *xo_vm_get(struct xenopsd *x, const char *id);
void xo_vm_put(struct xenopsd *x, struct xo_vm *vm);
/* Builds a VM (or device) from a VM.add (VBD.add, VIF.add) argument, for
 * the RPC and for files read back at start; NULL with *err. */
struct xo_vm *xo_vm_from_config(const struct val *cfg, struct arena *a, struct val **err);
struct xo_dev *xo_dev_from_config(enum xo_dev_kind kind, const struct val *cfg, struct arena *a,
                                  struct val **err);
void xo_vm_attach_dev(struct xo_vm *vm, struct xo_dev *d);
void xo_vm_free(struct xo_vm *vm);
void xo_dev_free(struct xo_dev *d);
int xo_vm_add(struct xenopsd *x, const struct val *cfg, struct arena *a, struct val **err);
int xo_vm_remove(struct xenopsd *x, const char *id, struct arena *a, struct val **err);
struct val *xo_vm_list(struct xenopsd *x, struct arena *a);
struct val *xo_vm_stat(struct xenopsd *x, const char *id, struct arena *a, struct val **err);
int xo_dev_add(struct xenopsd *x, enum xo_dev_kind kind, const struct val *cfg, struct arena *a,
               struct val **err);
int xo_dev_remove(struct xenopsd *x, enum xo_dev_kind kind, const char *id, struct arena *a,
                  struct val **err);
struct val *xo_dev_stat(struct xenopsd *x, enum xo_dev_kind kind, const char *id, struct arena *a,
                        struct val **err);
struct val *xo_host_stat(struct xenopsd *x, struct arena *a);
const char *xo_dev_kind_name(enum xo_dev_kind kind);
/* Copies what building the VM's domain needs into a (with x->lock held). */
void xo_vm_spec(const struct xo_vm *vm, struct arena *a, struct xo_domain_spec *spec,
                struct xstree_domain *tree);
void xo_dev_tree(const struct xo_dev *d, struct arena *a, struct xstree_device *out);
/* The trees of the VM's plugged devices, in a (with x->lock held). */
size_t xo_vm_plugged_trees(const struct xo_vm *vm, struct arena *a, struct xstree_device **out);
/* A live change of the VM's vCPUs or dynamic memory range, kept in its
 * config so that its file and a rebuilt domain carry it (x->lock held). */
void xo_vm_set_live(struct xo_vm *vm, int vcpus, int64_t dynamic_min, int64_t dynamic_max);

/* persist.c: STATE/xenopsd/<vm>.json, replaced atomically. */
/* Writes the VM's file; a VM removed meanwhile is left alone. */
int xo_persist_vm(struct xenopsd *x, struct xo_vm *vm);
/* Unlinks the VM's file; called with its persist_lock and x->lock held,
 * before the VM leaves the map. */
void xo_persist_remove(struct xenopsd *x, struct xo_vm *vm);
/* Reads every file into x (at start, before any thread runs). */
int xo_persist_load(struct xenopsd *x);

/* queue.c: per-VM queues, served by a pool of workers. */
int xo_workers_start(struct xenopsd *x, int n);
void xo_workers_stop(struct xenopsd *x);
/* Queues op (copied; its vm and task are filled in) on the VM vm_id; the
 * new task's id, or NULL with *err. */
const char *xo_submit(struct xenopsd *x, const char *vm_id, const struct xo_op *op, struct arena *a,
                      struct val **err);
/* The same for a device's operation: queued on the device's VM. */
const char *xo_submit_device(struct xenopsd *x, enum xo_dev_kind kind, const char *dev_id,
                             const struct xo_op *op, struct arena *a, struct val **err);
int xo_task_cancel(struct xenopsd *x, const char *id, struct arena *a, struct val **err);
/* xenstored restarted (empty): every domain's tree is checked and
 * written again, each on its VM's queue. */
void xo_on_xenstored_restart(struct xenopsd *x);
/* A guest left on its own (the simulator's callback). */
void xo_on_unsolicited_shutdown(void *x, int domid);
/* A worker's xenstore connection, (re)opened as needed; NULL with *err. */
struct xs_client *xo_worker_xs(struct xo_worker *w, struct arena *a, struct val **err);
struct xenopsd *xo_worker_ctx(struct xo_worker *w);
/* Turns a xenstore failure into INTERNAL_ERROR, dropping a connection
 * that broke so that the next operation opens a new one. */
int xo_worker_xs_fail(struct xo_worker *w, const struct xs_error *e, struct arena *a,
                      struct val **err);

/* ops.c: what each operation does; reconcile.c: the start. */
int xo_op_run(struct xo_worker *w, struct xo_op *op, struct arena *a, struct val **err);
/* At start: every VM the files call running gets its domain back, its
 * xenstore tree checked, and domains nobody owns are removed. */
int xo_reconcile(struct xenopsd *x, struct xs_client *xs);
/* Writes the domain's tree and its plugged devices' again (and introduces
 * the domain) unless xenstore has it whole: 1 rewritten, 0 intact, -1
 * with *e. At start, and after xenstored restarted (op_rewrite). */
int xo_tree_restore(struct xs_client *xs, const char *vm_id, const struct xstree_domain *tree,
                    const struct xstree_device *devs, size_t n, struct xs_error *e);

#endif
