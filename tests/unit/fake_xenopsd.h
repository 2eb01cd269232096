/*
 * fake_xenopsd.h - a xenopsd for xapi's unit tests: the methods of
 * docs/xenopsd-interface.md on an ipc_server, with VMs, devices, tasks
 * that finish at once and an update counter. A guest "boots" as soon as it
 * starts, so its agent's report is there at once. Tests reach into the
 * state (under lock) to act as the guest.
 */
#ifndef CX_FAKE_XENOPSD_H
#define CX_FAKE_XENOPSD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"

#define FAKE_MAX 32
#define GiB (1024LL * 1024 * 1024)

struct fake_vm {
    char id[64];
    const char *power_state;
    int64_t domid, memory, vcpus, start_time;
};

struct fake {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct fake_vm vms[FAKE_MAX];
    int n_vms;
    char devs[FAKE_MAX][64];
    bool plugged[FAKE_MAX];
    int n_devs;
    struct {
        char id[32];
        char error[64]; /* "" for success */
        char param1[64], param2[64];
    } tasks[256];
    int n_tasks;
    int64_t gen, next_domid, memory_free;
    struct {
        const char *kind;
        char id[64];
    } updates[1024];
    int n_updates;
    int calls_start;
};

/* Serve with ipc_server_start(path, fake_xenopsd_methods, &fake, ...). */
extern const struct ipc_method fake_xenopsd_methods[];
/* Hold f->lock for these two. */
struct fake_vm *fake_vm_find(struct fake *f, const char *id);
void fake_update(struct fake *f, const char *kind, const char *id);

#endif
