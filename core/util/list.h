/* list: the intrusive doubly linked list every module uses for queues and registries.
 *
 * A list is a circular chain through a head node that is not an element (libuv's queue,
 * Linux's list_head), so insertion and removal never test for the ends. Elements embed a
 * list_node and are recovered with list_entry (util/container.h):
 *
 *     typedef struct { list_node link; int id; } job;
 *     list_node jobs;  list_init(&jobs);
 *     list_insert_tail(&jobs, &j->link);
 *     list_for_each_safe(n, next, &jobs) {
 *         job *jb = list_entry(n, job, link);
 *         list_remove(&jb->link);
 *         free(jb);
 *     }
 *
 * Nothing allocates. A removed node is reset to "not linked", so removing twice is
 * harmless and list_linked() tells whether a node is on a list. A zeroed node counts as
 * not linked too; a head must be list_init()ed before use. */
#ifndef APEX_UTIL_LIST_H
#define APEX_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/container.h"

typedef struct list_node {
    struct list_node *prev, *next;
} list_node;

static inline void list_init(list_node *head)
{
    head->prev = head->next = head;
}

static inline bool list_empty(const list_node *head)
{
    return head->next == head;
}

/* True while the node is on a list (a head: while the list is not empty). */
static inline bool list_linked(const list_node *node)
{
    return node->next != NULL && node->next != node;
}

static inline void list_insert_after_(list_node *at, list_node *node)
{
    node->prev = at;
    node->next = at->next;
    at->next->prev = node;
    at->next = node;
}

static inline void list_insert_head(list_node *head, list_node *node)
{
    list_insert_after_(head, node);
}

static inline void list_insert_tail(list_node *head, list_node *node)
{
    list_insert_after_(head->prev, node);
}

static inline void list_remove(list_node *node)
{
    if (!list_linked(node))
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = NULL;
}

/* The first element's node, or NULL when the list is empty. */
static inline list_node *list_first(const list_node *head)
{
    return list_empty(head) ? NULL : head->next;
}

static inline list_node *list_last(const list_node *head)
{
    return list_empty(head) ? NULL : head->prev;
}

/* Removes and returns the first element's node, or NULL when the list is empty. */
static inline list_node *list_pop_first(list_node *head)
{
    list_node *node = list_first(head);
    if (node)
        list_remove(node);
    return node;
}

/* The node after `node` on the list headed by `head`, or NULL at the end. */
static inline list_node *list_next(const list_node *head, const list_node *node)
{
    return node->next == head ? NULL : node->next;
}

#define list_entry(node, type, member) container_of(node, type, member)

/* Walks the list; the body must not remove `pos` (use list_for_each_safe for that). */
#define list_for_each(pos, head) for (list_node *pos = (head)->next; pos != (head); pos = pos->next)

/* Walks the list; the body may remove (and free) `pos`, but no other element. */
#define list_for_each_safe(pos, tmp, head)                                                         \
    for (list_node *pos = (head)->next, *tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

#endif
