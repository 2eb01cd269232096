/*
 * db_commit.c - committing: a transaction becomes a change-set, change-sets
 * go to disk in batches (group commit), and a failed batch is undone.
 * See db.h.
 *
 * Under the write lock, db_commit stamps the transaction's generation on
 * what it touched, records its deletions for event.from, builds its
 * change-set and queues it, and publishes the generation. A change-set
 * holds no copies: it points at the values the transaction left, and
 * those stay allocated until it is durable, because a value is freed only
 * when the transaction that replaced it is durable, and batches are
 * flushed in generation order.
 *
 * Then, without the lock, the committer waits for its change-set. If no
 * thread is flushing, it becomes the flusher: it gives transactions in
 * progress (begun, or waiting for the write lock) up to DB_GATHER_US to
 * join the queue, then takes the whole queue as one batch, writes every change-set of it in one
 * SQLite transaction (one fsync), marks the batch durable and wakes its committers; the others,
 * queued meanwhile, form the next batch. A commit that changed nothing
 * persistent, with nothing queued before it, is durable at once.
 *
 * When a flush fails, the flusher takes the write lock and undoes, newest
 * first, every transaction not yet durable: its batch and everything
 * queued behind it (which may build on it). Each of their commits fails;
 * memory is again what the disk holds, and the database goes on.
 *
 * Generations only grow, across restarts too: db_open starts at the stored
 * generation plus DB_RESTART_GAP and stores that at once, and the stored
 * value never falls DB_RESTART_GAP / 2 behind the live one (a batch that
 * finds it that far behind stores it, a commit with nothing to write
 * queues a batch then, db_close stores it). So even after a crash the
 * next start is above every token handed out before it, and a batch need
 * not rewrite the generation's page each time.
 */
#include "db/db.h"
#include "db/db_internal.h"
#include "buf.h"
#include "db/db_store.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The error of this thread's last failed commit (db_commit's *err). */
static _Thread_local char db_commit_error[200];

void db_set_batch_hook(struct db *db, db_batch_fn fn, void *ctx)
{
    db->batch_hook = fn;
    db->batch_ctx = ctx;
}

/* --- the change-set of a transaction --- */

/* Whether the transaction changed what is on disk for o. */
static bool db_needs_write(const struct db_obj *o)
{
    return o->txn_dirty && api_classes[o->cls].persist && !(o->dead && o->txn_created);
}

static bool db_txn_writes(const struct db_txn *t)
{
    for (size_t i = 0; i < t->n_touched; i++)
        if (db_needs_write(t->touched[i]))
            return true;
    return false;
}

/* Adds field to a change's list once. */
static void db_change_field(struct db_change *c, int *fields, int field)
{
    for (size_t i = 0; i < c->n_fields; i++)
        if (fields[i] == field)
            return;
    fields[c->n_fields++] = field;
}

/* The change of one object the transaction wrote: its kind, a snapshot of
 * its values, and room for the fields it set. */
static struct db_change db_change_of(struct arena *a, struct db_obj *o, int **fields)
{
    const struct api_class *c = &api_classes[o->cls];
    struct db_change ch = {.cls = o->cls, .row = o->row, .kind = DB_CHANGE_UPDATE};
    memcpy(ch.ref, o->ref, sizeof(ch.ref));
    *fields = NULL;
    if (o->dead) {
        ch.kind = DB_CHANGE_DELETE;
        return ch;
    }
    const struct val **snap = arena_alloc(a, (size_t)c->n_fields * sizeof(*snap));
    memcpy(snap, o->f, (size_t)c->n_fields * sizeof(*snap));
    ch.values = snap;
    *fields = arena_alloc(a, (size_t)c->n_fields * sizeof(**fields));
    ch.fields = *fields;
    if (o->txn_created) {
        ch.kind = DB_CHANGE_CREATE;
        for (int i = 0; i < c->n_fields; i++)
            if (db_is_stored(o->cls, i))
                (*fields)[ch.n_fields++] = i;
    }
    return ch;
}

/* Builds the pending change-set of the transaction (at generation gen):
 * one change per object it wrote, the fields of each update gathered from
 * the undo log, which moves into the pending to be kept until durable.
 * The rows' JSON is made here, by the committer, rather than by the
 * flusher: the flush is the one step all writers wait on in turn. */
static struct db_pending *db_pending_new(struct db_txn *t, uint64_t gen)
{
    struct arena *a = arena_new();
    struct db_pending *p = arena_zalloc(a, sizeof(*p));
    p->a = a;
    pthread_cond_init(&p->wake, NULL);
    p->set.gen = gen;
    size_t n = 0;
    for (size_t i = 0; i < t->n_touched; i++)
        n += db_needs_write(t->touched[i]);
    struct db_change *changes = arena_alloc(a, (n ? n : 1) * sizeof(*changes));
    int **fields = arena_alloc(a, (n ? n : 1) * sizeof(*fields));
    for (size_t i = 0; i < t->n_touched; i++) {
        struct db_obj *o = t->touched[i];
        if (!db_needs_write(o))
            continue;
        o->txn_change = (uint32_t)p->set.n;
        changes[p->set.n] = db_change_of(a, o, &fields[p->set.n]);
        p->set.n++;
    }
    for (size_t i = 0; i < t->n_undo; i++) {
        const struct db_undo *u = &t->undo[i];
        if (u->kind != UNDO_SET || !db_needs_write(u->o) || !db_is_stored(u->o->cls, u->field))
            continue;
        struct db_change *c = &changes[u->o->txn_change];
        if (c->kind == DB_CHANGE_UPDATE)
            db_change_field(c, fields[u->o->txn_change], u->field);
    }
    struct buf json = BUF_INIT;
    buf_reserve(&json, 4096); /* a VM's row is about 2 KiB: no regrowth */
    for (size_t i = 0; i < p->set.n; i++) {
        struct db_change *c = &changes[i];
        if (c->kind == DB_CHANGE_DELETE)
            continue;
        buf_reset(&json);
        db_values_json(c->cls, c->values, &json);
        c->json = arena_strndup(a, json.data, json.len);
        c->json_len = json.len;
    }
    buf_free(&json);
    p->set.changes = changes;
    p->undo = arena_alloc(a, (t->n_undo ? t->n_undo : 1) * sizeof(*p->undo));
    memcpy(p->undo, t->undo, t->n_undo * sizeof(*p->undo));
    p->n_undo = t->n_undo;
    return p;
}

static void db_remember_deletion(struct db *db, const struct db_obj *o, uint64_t gen)
{
    struct db_tomb *t = &db->tombs[db->tomb_head];
    if (db->n_tombs == DB_TOMBS)
        db->tomb_floor = t->gen; /* overwriting the oldest */
    else
        db->n_tombs++;
    t->cls = o->cls;
    memcpy(t->ref, o->ref, sizeof(t->ref));
    t->gen = gen;
    db->tomb_head = (db->tomb_head + 1) % DB_TOMBS;
}

/* Forgets the deletions after gen: a failed flush brought them back. */
static void db_forget_deletions(struct db *db, uint64_t gen)
{
    while (db->n_tombs > 0) {
        size_t last = (db->tomb_head + DB_TOMBS - 1) % DB_TOMBS;
        if (db->tombs[last].gen <= gen)
            break;
        db->tomb_head = last;
        db->n_tombs--;
    }
}

/* Stamps the touched objects with the transaction's generation and
 * remembers its deletions. Objects created and destroyed in it were never
 * seen, so they leave no trace. */
static void db_stamp(struct db_txn *t, uint64_t gen)
{
    for (size_t i = 0; i < t->n_touched; i++) {
        struct db_obj *o = t->touched[i];
        o->gen_modified = gen;
        db_changed_now(t->db, o);
        if (o->txn_created)
            o->gen_created = gen;
        if (o->dead && !o->txn_created)
            db_remember_deletion(t->db, o, gen);
    }
}

/* --- flushing a batch --- */

void db_values_json(int cls, const struct val *const *values, struct buf *out)
{
    const struct api_class *c = &api_classes[cls];
    buf_putc(out, '{');
    bool first = true;
    for (int i = 0; i < c->n_fields; i++) {
        if (!db_is_stored(cls, i))
            continue;
        if (!first)
            buf_putc(out, ',');
        first = false;
        json_write_string(out, c->fields[i].name, strlen(c->fields[i].name));
        buf_putc(out, ':');
        json_write(out, values[i]);
    }
    buf_putc(out, '}');
}

static int db_write_change(struct db_store *store, const struct db_change *c)
{
    if (c->kind == DB_CHANGE_DELETE)
        return db_store_delete(store, c->row);
    return db_store_put(store, c->row, api_classes[c->cls].name, c->ref, c->json, c->json_len);
}

/* Writes a batch (n change-sets, in generation order) in one SQLite
 * transaction, with the batch hook before its commit, and the generation
 * it reaches when the stored one has fallen half the restart gap behind.
 * With nothing else to write, a failure to store the generation costs no
 * data, so the batch stands and a later one retries. Only the flushing
 * thread calls this. */
static int db_write_batch(struct db *db, struct db_pending **batch, size_t n, const char **err)
{
    uint64_t last = batch[n - 1]->set.gen;
    bool checkpoint = last - atomic_load(&db->gen_stored) >= DB_RESTART_GAP / 2;
    size_t changes = 0;
    for (size_t i = 0; i < n; i++)
        changes += batch[i]->set.n;
    if (changes == 0) {
        if (checkpoint) {
            if (db_store_set_generation(db->store, last) < 0)
                log_warn(NULL, "database: cannot store the generation: %s",
                         db_store_error(db->store));
            else
                atomic_store(&db->gen_stored, last);
        }
        return 0;
    }
    if (db_store_begin(db->store) < 0) {
        *err = db_store_error(db->store);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        for (size_t j = 0; j < batch[i]->set.n && rc == 0; j++)
            rc = db_write_change(db->store, &batch[i]->set.changes[j]);
    if (rc == 0 && checkpoint)
        rc = db_store_set_generation(db->store, last);
    *err = rc < 0 ? db_store_error(db->store) : NULL;
    if (rc == 0 && db->batch_hook) {
        const struct db_changeset **sets = xmalloc(n * sizeof(*sets));
        for (size_t i = 0; i < n; i++)
            sets[i] = &batch[i]->set;
        rc = db->batch_hook(db->batch_ctx, sets, n, err) ? -1 : 0;
        free(sets);
    }
    if (db_store_end(db->store, rc) < 0) {
        if (!*err)
            *err = db_store_error(db->store);
        return -1;
    }
    if (checkpoint)
        atomic_store(&db->gen_stored, last);
    return 0;
}

/* After a failed flush: with the write lock, undoes every transaction not
 * yet durable (the batch, then what queued behind it), newest first, and
 * fails their commits. The objects put back get a new generation, an
 * event for their restored state; event readers that saw the undone
 * state notice through db_rollbacks. Hold sync_lock; it is released
 * while the write lock is taken (lock order). */
static void db_rollback(struct db *db, struct list *batch, const char *err)
{
    pthread_mutex_unlock(&db->sync_lock);
    db_write_lock(db);
    pthread_mutex_lock(&db->sync_lock);
    list_splice_back(batch, &db->queue);
    uint64_t stamp = atomic_load(&db->generation) + 1;
    for (struct list_node *n = list_last(batch); n; n = list_prev(batch, n)) {
        struct db_pending *p = LIST_ENTRY(n, struct db_pending, node);
        db_undo_entries(db, p->undo, p->n_undo, stamp);
    }
    db_forget_deletions(db, db->durable);
    log_error(NULL, "database write failed, %zu transactions undone (generations %llu to %llu): %s",
              list_length(batch), (unsigned long long)db->durable + 1,
              (unsigned long long)stamp - 1, err);
    for (struct list_node *n = list_first(batch); n; n = list_next(batch, n)) {
        struct db_pending *p = LIST_ENTRY(n, struct db_pending, node);
        snprintf(p->error, sizeof(p->error), "%s", err);
        p->state = -1;
        pthread_cond_signal(&p->wake);
    }
    atomic_store(&db->generation, stamp);
    db->durable = stamp;
    atomic_fetch_add(&db->rollbacks, 1);
    db_classes_changed(db, NULL, stamp);
    pthread_cond_broadcast(&db->applied_cond);
    pthread_mutex_unlock(&db->sync_lock);
    db_write_unlock(db);
    pthread_mutex_lock(&db->sync_lock);
}

/* Waits (sync_lock held) until the transactions in progress have queued,
 * or DB_GATHER_US: one more in the batch costs far less than a flush of
 * its own. A lone writer finds none in progress and waits for nothing. */
static void db_gather(struct db *db)
{
    if (atomic_load(&db->writers) == 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until); /* applied_cond's clock */
    until.tv_nsec += DB_GATHER_US * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (atomic_load(&db->writers) > 0)
        if (pthread_cond_timedwait(&db->applied_cond, &db->sync_lock, &until) == ETIMEDOUT)
            break;
}

/* Flushes the queue as one batch. Hold sync_lock, with the queue not
 * empty and no flush running; returns holding it, with the batch's
 * committers woken, and the committer of what queued meanwhile, to flush
 * it. Each committer has a condition of its own, so a flush wakes only
 * those it concerns. */
static void db_flush(struct db *db)
{
    db->flushing = true;
    db_gather(db);
    struct list batch;
    list_init(&batch);
    list_splice_back(&batch, &db->queue);
    pthread_mutex_unlock(&db->sync_lock);
    size_t n = list_length(&batch), i = 0;
    struct db_pending **sets = xmalloc(n * sizeof(*sets));
    for (struct list_node *node = list_first(&batch); node; node = list_next(&batch, node))
        sets[i++] = LIST_ENTRY(node, struct db_pending, node);
    const char *err = NULL;
    int rc = db_write_batch(db, sets, n, &err);
    db->flushes++;
    db->flushed_sets += n;
    if (rc == 0)
        for (i = 0; i < n; i++)
            db_undo_release(sets[i]->undo, sets[i]->n_undo);
    char error[200];
    if (rc < 0) /* copied: the store's message may change once the lock is dropped */
        snprintf(error, sizeof(error), "%s", err ? err : "unknown error");
    pthread_mutex_lock(&db->sync_lock);
    if (rc < 0) {
        db_rollback(db, &batch, error);
    } else {
        db->durable = sets[n - 1]->set.gen;
        for (i = 0; i < n; i++) {
            sets[i]->state = 1;
            pthread_cond_signal(&sets[i]->wake);
        }
    }
    free(sets);
    db->flushing = false;
    if (!list_empty(&db->queue))
        pthread_cond_signal(&LIST_ENTRY(list_first(&db->queue), struct db_pending, node)->wake);
    pthread_cond_broadcast(&db->durable_cond);
}

/* --- committing --- */

/* Whether a commit with no writes must still queue: a change-set is
 * before it, or the stored generation needs a checkpoint. Hold sync_lock. */
static bool db_must_queue(struct db *db, uint64_t gen)
{
    return db->flushing || !list_empty(&db->queue) ||
           gen - atomic_load(&db->gen_stored) >= DB_RESTART_GAP / 2;
}

/* Waits until p is durable or failed, flushing when no one else is;
 * returns its state and frees it. Call without the write lock. */
static int db_await(struct db *db, struct db_pending *p)
{
    pthread_mutex_lock(&db->sync_lock);
    while (p->state == 0) {
        if (!db->flushing)
            db_flush(db);
        else
            pthread_cond_wait(&p->wake, &db->sync_lock);
    }
    pthread_mutex_unlock(&db->sync_lock);
    int state = p->state;
    if (state < 0)
        snprintf(db_commit_error, sizeof(db_commit_error), "%s", p->error);
    pthread_cond_destroy(&p->wake);
    arena_free(p->a);
    return state;
}

int db_commit(struct db_txn *t, const char **err)
{
    struct db *db = t->db;
    if (t->n_touched == 0) {
        pthread_mutex_lock(&db->sync_lock);
        atomic_fetch_sub(&db->writers, 1);
        pthread_cond_broadcast(&db->applied_cond);
        pthread_mutex_unlock(&db->sync_lock);
        db_write_unlock(db);
        return 0;
    }
    uint64_t gen = atomic_load(&db->generation) + 1;
    db_stamp(t, gen);
    /* Without writes, queueing is decided under sync_lock, and stays
     * right once it is dropped: the queue only grows under the write
     * lock, which is ours, and no flush starts while it is empty. */
    bool queue = db_txn_writes(t);
    if (!queue) {
        pthread_mutex_lock(&db->sync_lock);
        queue = db_must_queue(db, gen);
        pthread_mutex_unlock(&db->sync_lock);
    }
    struct db_pending *p = queue ? db_pending_new(t, gen) : NULL;
    pthread_mutex_lock(&db->sync_lock);
    atomic_store(&db->generation, gen);
    atomic_fetch_sub(&db->writers, 1);
    db_classes_changed(db, &t->classes, gen);
    if (p)
        list_push_back(&db->queue, &p->node);
    else /* nothing before it and nothing to write: durable now */
        db->durable = gen;
    pthread_cond_broadcast(&db->applied_cond);
    pthread_mutex_unlock(&db->sync_lock);
    if (!p)
        db_undo_release(t->undo, t->n_undo);
    t->n_undo = t->n_touched = 0;
    db_write_unlock(db);
    if (p && db_await(db, p) < 0) {
        *err = db_commit_error;
        return -1;
    }
    return 0;
}

bool db_sync(struct db *db, uint64_t gen, uint64_t rollbacks)
{
    pthread_mutex_lock(&db->sync_lock);
    while (db->durable < gen && atomic_load(&db->rollbacks) == rollbacks)
        pthread_cond_wait(&db->durable_cond, &db->sync_lock);
    bool kept = atomic_load(&db->rollbacks) == rollbacks;
    pthread_mutex_unlock(&db->sync_lock);
    return kept;
}
