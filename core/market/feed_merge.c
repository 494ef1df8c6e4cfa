#include <stdlib.h>
#include <string.h>

#include "market/bar_queue.h"
#include "market/csv_feed.h"
#include "util/assert.h"
#include "util/container.h"
#include "util/err.h"
#include "util/heap.h"
#include "util/vec.h"

/* One source in the merge: its feed and, when buffered, the bar it will hand out next.
 * Sources are allocated one by one because the heap points into them. */
typedef struct {
    csv_feed *feed;   /* owned; NULL for a queue */
    bar_queue *queue; /* borrowed: a live source pushes into it */
    int index;        /* order of feed_merge_add: breaks ties between equal times */
    bar next;
    bool buffered;
    bool done;      /* a non-follow feed reached its end */
    heap_node node; /* in `ready` while buffered */
} source;

struct feed_merge {
    VEC(source *) src;
    heap ready;            /* buffered sources, least (next.ts, index) first */
    VEC(source *) pending; /* sources to read from before the next bar can be chosen */
    /* An error met by feed_merge_peek_time is reported by the next feed_merge_next. */
    int deferred_rc;
    char deferred_err[512];
};

static bool src_before(const heap_node *a, const heap_node *b)
{
    const source *x = container_of(a, source, node), *y = container_of(b, source, node);
    return x->next.ts < y->next.ts || (x->next.ts == y->next.ts && x->index < y->index);
}

feed_merge *feed_merge_new(void)
{
    feed_merge *m = calloc(1, sizeof *m);
    if (m)
        heap_init(&m->ready, src_before);
    return m;
}

void feed_merge_free(feed_merge *m)
{
    if (!m)
        return;
    heap_free(&m->ready);
    for (int i = 0; i < m->src.count; i++) {
        csv_feed_close(m->src.items[i]->feed);
        free(m->src.items[i]);
    }
    vec_free(&m->src);
    vec_free(&m->pending);
    free(m);
}

static int add_source(feed_merge *m, csv_feed *feed, bar_queue *queue, const char *label, char *err,
                      size_t errlen)
{
    /* Every source is buffered or pending, never both: with room for all of them in both
     * the heap and the pending list, reading and merging never allocate. */
    int n = m->src.count + 1;
    source *s = calloc(1, sizeof *s);
    if (!s || vec_reserve(&m->src, n) != APEX_OK || vec_reserve(&m->pending, n) != APEX_OK ||
        heap_reserve(&m->ready, n) != APEX_OK) {
        free(s);
        return err_set(err, errlen, APEX_ENOMEM, "%s: out of memory adding the feed", label);
    }
    s->feed = feed;
    s->queue = queue;
    s->index = m->src.count;
    heap_node_init(&s->node);
    m->src.items[m->src.count++] = s;
    m->pending.items[m->pending.count++] = s;
    return 0;
}

int feed_merge_add(feed_merge *m, csv_feed *feed, char *err, size_t errlen)
{
    if (!feed)
        return err_set(err, errlen, APEX_EINVAL, "feed_merge_add: no feed given");
    return add_source(m, feed, NULL, csv_feed_path(feed), err, errlen);
}

int feed_merge_add_queue(feed_merge *m, bar_queue *queue, char *err, size_t errlen)
{
    if (!queue)
        return err_set(err, errlen, APEX_EINVAL, "feed_merge_add_queue: no queue given");
    return add_source(m, NULL, queue, bar_queue_label(queue), err, errlen);
}

/* Reads one bar from every source that has none buffered. A following feed with nothing
 * new stays pending and is asked again next time. */
static int fill_pending(feed_merge *m, char *err, size_t errlen)
{
    int keep = 0;
    int rc = 0;
    for (int k = 0; k < m->pending.count; k++) {
        source *src = m->pending.items[k];
        if (rc < 0) {
            /* Stop at the first error; the rest are read on the next call. */
            m->pending.items[keep++] = src;
            continue;
        }
        int r = src->queue ? bar_queue_pop(src->queue, &src->next)
                           : csv_feed_next(src->feed, &src->next, err, errlen);
        if (r < 0) {
            rc = r; /* the bad row is consumed; the feed is read again next call */
            m->pending.items[keep++] = src;
            continue;
        }
        if (r == 0) {
            if (src->queue || csv_feed_is_follow(src->feed))
                m->pending.items[keep++] = src;
            else
                src->done = true;
            continue;
        }
        src->buffered = true;
        int pushed = heap_push(&m->ready, &src->node);
        APEX_ASSERT(pushed == APEX_OK); /* feed_merge_add reserved a slot for every source */
        (void)pushed;                   /* read only by the assertion */
    }
    m->pending.count = keep;
    return rc;
}

int feed_merge_next(feed_merge *m, bar *out, char *err, size_t errlen)
{
    if (m->deferred_rc < 0) {
        int rc = err_set(err, errlen, m->deferred_rc, "%s", m->deferred_err);
        m->deferred_rc = 0;
        return rc;
    }
    int rc = fill_pending(m, err, errlen);
    if (rc < 0)
        return rc;
    /* With following feeds, one that is momentarily empty cannot hold the others back:
     * live data is merged in arrival order as well as the files allow. */
    heap_node *top = heap_pop(&m->ready);
    if (!top)
        return 0;
    source *src = container_of(top, source, node);
    *out = src->next;
    src->buffered = false;
    m->pending.items[m->pending.count++] = src; /* room reserved by feed_merge_add */
    return 1;
}

apex_time feed_merge_peek_time(feed_merge *m)
{
    if (m->deferred_rc == 0 && m->pending.count > 0) {
        int rc = fill_pending(m, m->deferred_err, sizeof m->deferred_err);
        if (rc < 0)
            m->deferred_rc = rc;
    }
    heap_node *top = heap_top(&m->ready);
    return top ? container_of(top, source, node)->next.ts : APEX_TIME_NEVER;
}
