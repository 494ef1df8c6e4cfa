#include <stdlib.h>
#include <string.h>

#include "market/csv_feed.h"
#include "util/err.h"

/* One source in the merge: its feed and, when buffered, the bar it will hand out next. */
typedef struct {
    csv_feed *feed;
    bar next;
    bool buffered;
    bool done; /* a non-follow feed reached its end */
} source;

struct feed_merge {
    source *src;
    int nsrc;
    int cap;
    int *heap; /* indices of buffered sources, min-heap by (next.ts, index) */
    int nheap;
    int *pending; /* sources to read from before the next bar can be chosen */
    int npending;
    /* An error met by feed_merge_peek_time is reported by the next feed_merge_next. */
    int deferred_rc;
    char deferred_err[512];
};

static bool src_before(const feed_merge *m, int a, int b)
{
    apex_time ta = m->src[a].next.ts, tb = m->src[b].next.ts;
    return ta < tb || (ta == tb && a < b);
}

static void heap_push(feed_merge *m, int s)
{
    int i = m->nheap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!src_before(m, s, m->heap[parent]))
            break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = s;
}

static int heap_pop(feed_merge *m)
{
    int top = m->heap[0];
    int last = m->heap[--m->nheap];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= m->nheap)
            break;
        if (child + 1 < m->nheap && src_before(m, m->heap[child + 1], m->heap[child]))
            child++;
        if (!src_before(m, m->heap[child], last))
            break;
        m->heap[i] = m->heap[child];
        i = child;
    }
    if (m->nheap > 0)
        m->heap[i] = last;
    return top;
}

feed_merge *feed_merge_new(void)
{
    return calloc(1, sizeof(feed_merge));
}

void feed_merge_free(feed_merge *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nsrc; i++)
        csv_feed_close(m->src[i].feed);
    free(m->src);
    free(m->heap);
    free(m->pending);
    free(m);
}

int feed_merge_add(feed_merge *m, csv_feed *feed, char *err, size_t errlen)
{
    if (!feed)
        return err_set(err, errlen, APEX_EINVAL, "feed_merge_add: no feed given");
    if (m->nsrc == m->cap) {
        int ncap = m->cap ? m->cap * 2 : 8;
        source *ns = realloc(m->src, (size_t)ncap * sizeof *ns);
        if (ns)
            m->src = ns;
        int *nh = ns ? realloc(m->heap, (size_t)ncap * sizeof *nh) : NULL;
        if (nh)
            m->heap = nh;
        int *np = nh ? realloc(m->pending, (size_t)ncap * sizeof *np) : NULL;
        if (!np)
            return err_set(err, errlen, APEX_ENOMEM, "%s: out of memory adding the feed",
                           csv_feed_path(feed));
        m->pending = np;
        m->cap = ncap;
    }
    m->src[m->nsrc] = (source){.feed = feed};
    m->pending[m->npending++] = m->nsrc;
    m->nsrc++;
    return 0;
}

/* Reads one bar from every source that has none buffered. A following feed with nothing
 * new stays pending and is asked again next time. */
static int fill_pending(feed_merge *m, char *err, size_t errlen)
{
    int keep = 0;
    int rc = 0;
    for (int k = 0; k < m->npending; k++) {
        int s = m->pending[k];
        source *src = &m->src[s];
        if (rc < 0) {
            /* Stop at the first error; the rest are read on the next call. */
            m->pending[keep++] = s;
            continue;
        }
        int r = csv_feed_next(src->feed, &src->next, err, errlen);
        if (r < 0) {
            rc = r; /* the bad row is consumed; the feed is read again next call */
            m->pending[keep++] = s;
            continue;
        }
        if (r == 0) {
            if (csv_feed_is_follow(src->feed))
                m->pending[keep++] = s;
            else
                src->done = true;
            continue;
        }
        src->buffered = true;
        heap_push(m, s);
    }
    m->npending = keep;
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
    if (m->nheap == 0)
        return 0;
    int s = heap_pop(m);
    *out = m->src[s].next;
    m->src[s].buffered = false;
    m->pending[m->npending++] = s;
    return 1;
}

apex_time feed_merge_peek_time(feed_merge *m)
{
    if (m->deferred_rc == 0 && m->npending > 0) {
        int rc = fill_pending(m, m->deferred_err, sizeof m->deferred_err);
        if (rc < 0)
            m->deferred_rc = rc;
    }
    return m->nheap > 0 ? m->src[m->heap[0]].next.ts : APEX_TIME_NEVER;
}
