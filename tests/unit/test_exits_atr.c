/* test_exits_atr: the fixed-point Wilder ATR behind the ATR and chandelier trailing stops
 * (core/exits/atr.h) against the formula restated here in floating point (apex.ta's atr with
 * first_tr = "range": the first true range is the first bar's high - low, the mean of the
 * first n true ranges seeds it, then atr = (atr * (n - 1) + tr) / n). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "exits/atr.h"

static void test_atr_matches_wilder(void **state)
{
    (void)state;
    for (int n = 1; n <= 22; n += 7) {
        exits_atr a;
        exits_atr_init(&a, n);
        double ref = 0, sum = 0, prev_close = 0;
        unsigned seed = 12345;
        double close = 100;
        for (int i = 0; i < 300; i++) {
            seed = seed * 1103515245u + 12345u;
            double move = ((double)(seed >> 16 & 0x3ff) - 512) / 100.0; /* -5.12 .. 5.11 */
            double open = close;
            close = fmax(1, close + move);
            double high = fmax(open, close) + (double)(seed & 0xff) / 100.0;
            double low = fmin(open, close) - (double)(seed >> 8 & 0x7f) / 100.0;
            /* whole cents, as bars are */
            open = round(open * 100) / 100;
            close = round(close * 100) / 100;
            high = round(high * 100) / 100;
            low = round(low * 100) / 100;
            bar b = {.open = (money_t)llround(open * 1e8),
                     .high = (money_t)llround(high * 1e8),
                     .low = (money_t)llround(low * 1e8),
                     .close = (money_t)llround(close * 1e8)};
            exits_atr_update(&a, &b);
            double tr = high - low;
            if (i > 0)
                tr = fmax(tr, fmax(fabs(high - prev_close), fabs(low - prev_close)));
            prev_close = close;
            if (i < n) {
                sum += tr;
                if (i == n - 1)
                    ref = sum / n;
            } else {
                ref = (ref * (n - 1) + tr) / n;
            }
            assert_int_equal(exits_atr_ready(&a), i >= n - 1);
            if (i >= n - 1 && fabs((double)a.value / 1e8 - ref) > 1e-7)
                fail_msg("n %d bar %d: %.10f vs %.10f", n, i, (double)a.value / 1e8, ref);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atr_matches_wilder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
