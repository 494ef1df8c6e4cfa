/* fuzz_news: the news file loader (core/market/news.c) on arbitrary file contents.
 *
 * A loaded list must hold what the format promises: one item per row (never more items
 * than the file has lines after the header), times in order, an impact of 1..3, a
 * non-empty terminated symbol and headline. Queries over it must stay in bounds. An
 * error must name the file and a line that exists in it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "market/news.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_file file;
    fuzz_file_open(&file, data, size);
    news_list n = {0};
    char err[512] = "";
    int rc = news_load(&n, file.path, err, sizeof err);
    fuzz_file_close(&file);
    long lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (size > 0 && data[size - 1] != '\n')
        lines++;
    if (rc != 0) {
        FUZZ_CHECK(n.items == NULL && n.count == 0);
        if (rc == APEX_ENOMEM)
            return 0;
        /* "<path>:<line>: ..." or "<path>: ..." */
        size_t plen = strlen(file.path);
        FUZZ_CHECK(strncmp(err, file.path, plen) == 0 && err[plen] == ':');
        if (err[plen + 1] >= '0' && err[plen + 1] <= '9') {
            long line = strtol(err + plen + 1, NULL, 10);
            FUZZ_CHECK(line >= 1 && line <= (lines > 0 ? lines : 1));
        }
        return 0;
    }
    FUZZ_CHECK(n.count <= (lines > 0 ? lines - 1 : 0));
    for (int i = 0; i < n.count; i++) {
        const news_item *it = &n.items[i];
        FUZZ_CHECK(it->impact >= 1 && it->impact <= 3);
        FUZZ_CHECK(memchr(it->symbol, '\0', sizeof it->symbol) != NULL && it->symbol[0] != '\0');
        FUZZ_CHECK(memchr(it->headline, '\0', sizeof it->headline) != NULL);
        FUZZ_CHECK(i == 0 || it->ts >= n.items[i - 1].ts);
    }
    if (n.count > 0) {
        const char *headline = NULL;
        apex_time first = n.items[0].ts, last = n.items[n.count - 1].ts;
        int best = news_max_impact(&n, NULL, first, last, &headline);
        FUZZ_CHECK(best >= 1 && best <= 3 && headline != NULL);
        best = news_max_impact(&n, n.items[n.count - 1].symbol, first, last, NULL);
        FUZZ_CHECK(best >= 1 && best <= 3);
        FUZZ_CHECK(news_max_impact(&n, "AAPL", last + 1, last + 2, NULL) == 0);
    }
    news_free(&n);
    return 0;
}
