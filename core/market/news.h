/* news: scheduled or recorded news events that instruction rules can react to
 * ("exit on high impact news"). Loaded from a CSV with the header
 *     timestamp,symbol,impact,headline
 * where impact is low|medium|high and symbol "*" means market-wide. Rows must be
 * in time order; errors name the file and line. */
#ifndef APEX_MARKET_NEWS_H
#define APEX_MARKET_NEWS_H

#include <stddef.h>

#include "clock/clock.h"
#include "market/bar.h"
#include "util/vec.h"

typedef struct {
    apex_time ts;
    char symbol[SYMBOL_MAX];
    int impact; /* 1 low, 2 medium, 3 high */
    char headline[160];
} news_item;

typedef VEC(news_item) news_list; /* items, in time order */

int news_load(news_list *n, const char *path, char *err, size_t errlen);
void news_free(news_list *n);
/* Highest impact of items for symbol (or market-wide "*"; symbol NULL = any) in
 * [since, now]. 0 when none. *headline (may be NULL) gets the item's headline. */
int news_max_impact(const news_list *n, const char *symbol, apex_time since, apex_time now,
                    const char **headline);

#endif
