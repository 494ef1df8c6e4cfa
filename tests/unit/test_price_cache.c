/* price_cache: a quote is reused while it is at most ttl old, then refetched; unknown
 * symbols and invalidated quotes miss; hits and misses are counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "market/price_cache.h"
#include "util/err.h"

#define T0 ((apex_time)1709303400 * APEX_SECOND) /* 2024-03-01 14:30:00 UTC */

static broker_quote quote(const char *symbol, money_t bid, money_t ask, money_t last)
{
    broker_quote q = {.bid = bid, .ask = ask, .last = last, .volume = MONEY(1200), .ts = T0};
    snprintf(q.symbol, sizeof q.symbol, "%s", symbol);
    return q;
}

static void test_hit_within_ttl_miss_after(void **state)
{
    (void)state;
    price_cache *c = price_cache_new(10);
    assert_non_null(c);
    broker_quote q = quote("AAPL", MONEY(187), MONEY(187) + MONEY_SCALE / 100, MONEY(187));
    assert_int_equal(price_cache_put(c, 3, &q, T0), 0);

    broker_quote out = {0};
    assert_int_equal(price_cache_get(c, 3, T0 + 4 * APEX_SECOND, &out), 0);
    assert_string_equal(out.symbol, "AAPL");
    assert_true(out.bid == MONEY(187));
    assert_true(out.ask == MONEY(187) + MONEY_SCALE / 100);
    /* Exactly ttl old still counts as fresh; a microsecond later it does not. */
    assert_int_equal(price_cache_get(c, 3, T0 + 10 * APEX_SECOND, &out), 0);
    assert_int_equal(price_cache_get(c, 3, T0 + 10 * APEX_SECOND + 1, &out), APEX_ENOTFOUND);
    assert_true(price_cache_hits(c) == 2);
    assert_true(price_cache_misses(c) == 1);

    /* A refetch replaces the quote and restarts its TTL. */
    broker_quote newer = quote("AAPL", MONEY(185), MONEY(186), MONEY(185));
    assert_int_equal(price_cache_put(c, 3, &newer, T0 + 12 * APEX_SECOND), 0);
    assert_int_equal(price_cache_get(c, 3, T0 + 20 * APEX_SECOND, &out), 0);
    assert_true(out.last == MONEY(185));
    price_cache_free(c);
}

static void test_unknown_ids_miss(void **state)
{
    (void)state;
    price_cache *c = price_cache_new(10);
    broker_quote out = {0};
    assert_int_equal(price_cache_get(c, 0, T0, &out), APEX_ENOTFOUND);  /* empty cache */
    assert_int_equal(price_cache_get(c, -1, T0, &out), APEX_ENOTFOUND); /* bad id */
    broker_quote q = quote("MSFT", MONEY(410), MONEY(411), MONEY(410));
    assert_int_equal(price_cache_put(c, 500, &q, T0), 0);                /* grows on demand */
    assert_int_equal(price_cache_get(c, 499, T0, &out), APEX_ENOTFOUND); /* slot, no quote */
    assert_int_equal(price_cache_get(c, 501, T0, &out), APEX_ENOTFOUND); /* past the end */
    assert_int_equal(price_cache_get(c, 500, T0, &out), 0);
    assert_string_equal(out.symbol, "MSFT");
    assert_true(price_cache_misses(c) == 4);
    assert_true(price_cache_hits(c) == 1);
    assert_int_equal(price_cache_put(c, -2, &q, T0), APEX_EINVAL);
    price_cache_free(c);
}

static void test_growth_keeps_earlier_quotes(void **state)
{
    (void)state;
    price_cache *c = price_cache_new(10);
    for (int id = 0; id < 300; id++) {
        broker_quote q = quote("SYM", MONEY(id + 1), MONEY(id + 2), MONEY(id + 1));
        assert_int_equal(price_cache_put(c, id, &q, T0), 0);
    }
    for (int id = 0; id < 300; id++) {
        broker_quote out = {0};
        assert_int_equal(price_cache_get(c, id, T0 + APEX_SECOND, &out), 0);
        assert_true(out.last == MONEY(id + 1));
    }
    assert_true(price_cache_hits(c) == 300);
    assert_true(price_cache_misses(c) == 0);
    price_cache_free(c);
}

static void test_invalidate(void **state)
{
    (void)state;
    price_cache *c = price_cache_new(10);
    broker_quote a = quote("AAPL", MONEY(1), MONEY(2), MONEY(1));
    broker_quote b = quote("TSLA", MONEY(3), MONEY(4), MONEY(3));
    assert_int_equal(price_cache_put(c, 1, &a, T0), 0);
    assert_int_equal(price_cache_put(c, 2, &b, T0), 0);
    /* After our own order fills, the old price must not be trusted. */
    price_cache_invalidate(c, 1);
    price_cache_invalidate(c, 77); /* unknown ids are harmless */
    price_cache_invalidate(c, -1);
    broker_quote out = {0};
    assert_int_equal(price_cache_get(c, 1, T0, &out), APEX_ENOTFOUND);
    assert_int_equal(price_cache_get(c, 2, T0, &out), 0);
    assert_string_equal(out.symbol, "TSLA");
    assert_true(price_cache_hits(c) == 1);
    assert_true(price_cache_misses(c) == 1);
    price_cache_free(c);
}

static void test_zero_ttl_only_same_instant(void **state)
{
    (void)state;
    assert_null(price_cache_new(-1));
    price_cache *c = price_cache_new(0);
    broker_quote q = quote("SPY", MONEY(500), MONEY(501), MONEY(500));
    assert_int_equal(price_cache_put(c, 0, &q, T0), 0);
    assert_int_equal(price_cache_get(c, 0, T0, NULL), 0);
    assert_int_equal(price_cache_get(c, 0, T0 + 1, NULL), APEX_ENOTFOUND);
    price_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_within_ttl_miss_after),   cmocka_unit_test(test_unknown_ids_miss),
        cmocka_unit_test(test_growth_keeps_earlier_quotes), cmocka_unit_test(test_invalidate),
        cmocka_unit_test(test_zero_ttl_only_same_instant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
