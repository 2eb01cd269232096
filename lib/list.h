/*
 * list.h - an intrusive doubly linked list: the node lives inside the
 * element (struct list_node), so linking and unlinking never allocate,
 * and an element finds its way back from the node with LIST_ENTRY.
 *
 * A list is circular around a sentinel head, so no operation has a
 * special case for the first or last element, and it keeps its length.
 * A node is on at most one list at a time; who owns the element is the
 * caller's business.
 */
#ifndef CX_LIST_H
#define CX_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_node {
    struct list_node *prev, *next;
};

struct list {
    struct list_node head;
    size_t n;
};

/* The element of type whose member node is. */
#define LIST_ENTRY(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

static inline void list_init(struct list *l)
{
    l->head.prev = l->head.next = &l->head;
    l->n = 0;
}

static inline bool list_empty(const struct list *l)
{
    return l->n == 0;
}

static inline size_t list_length(const struct list *l)
{
    return l->n;
}

/* Links n between prev and next. */
static inline void list_link(struct list *l, struct list_node *n, struct list_node *prev,
                             struct list_node *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
    l->n++;
}

static inline void list_push_back(struct list *l, struct list_node *n)
{
    list_link(l, n, l->head.prev, &l->head);
}

static inline void list_push_front(struct list *l, struct list_node *n)
{
    list_link(l, n, &l->head, l->head.next);
}

/* Unlinks n, which is on l. */
static inline void list_remove(struct list *l, struct list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    l->n--;
}

/* The first node, or NULL when l is empty. */
static inline struct list_node *list_first(const struct list *l)
{
    return l->n ? l->head.next : NULL;
}

/* The last node, or NULL when l is empty. */
static inline struct list_node *list_last(const struct list *l)
{
    return l->n ? l->head.prev : NULL;
}

/* The node after n on l, or NULL at the end. */
static inline struct list_node *list_next(const struct list *l, const struct list_node *n)
{
    return n->next == &l->head ? NULL : n->next;
}

/* The node before n on l, or NULL at the start. */
static inline struct list_node *list_prev(const struct list *l, const struct list_node *n)
{
    return n->prev == &l->head ? NULL : n->prev;
}

/* Moves every node of src, in order, to the end of dst; src is left
 * empty. O(1). */
static inline void list_splice_back(struct list *dst, struct list *src)
{
    if (!src->n)
        return;
    struct list_node *first = src->head.next, *last = src->head.prev;
    first->prev = dst->head.prev;
    dst->head.prev->next = first;
    last->next = &dst->head;
    dst->head.prev = last;
    dst->n += src->n;
    list_init(src);
}

/* Unlinks and returns the first node, or NULL when l is empty. */
static inline struct list_node *list_pop_front(struct list *l)
{
    struct list_node *n = list_first(l);
    if (n)
        list_remove(l, n);
    return n;
}

#endif
