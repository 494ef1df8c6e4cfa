/* fuzz_money: money_parse, money_format and the checked arithmetic (core/money/money.c).
 *
 * The whole input is parsed as a decimal; what parses must print and parse back to the
 * same value. The first 24 bytes, read as three raw int64 values, also drive the
 * arithmetic, checked against 128-bit reference results. */
#include <stdint.h>
#include <string.h>

#include "fuzz_support.h"
#include "money/money.h"
#include "util/err.h"

typedef __int128 i128;

static void check_roundtrip(money_t v)
{
    char buf[64];
    money_t back;
    money_format(v, MONEY_DECIMALS, buf, sizeof buf);
    FUZZ_CHECK(money_parse(buf, strlen(buf), &back) == 0 && back == v);
    money_format_trim(v, 0, buf, sizeof buf);
    FUZZ_CHECK(money_parse(buf, strlen(buf), &back) == 0 && back == v);
    for (int d = 0; d < MONEY_DECIMALS; d++)
        money_format(v, d, buf, sizeof buf); /* any rounding, never out of the buffer */
}

static bool in_range(i128 v)
{
    return v >= (i128)MONEY_MIN && v <= (i128)MONEY_MAX;
}

static void check_arithmetic(money_t a, money_t b, money_t c)
{
    money_t r;
    int rc = money_add(a, b, &r);
    i128 exact = (i128)a + b;
    FUZZ_CHECK((rc == 0) == in_range(exact));
    FUZZ_CHECK(rc != 0 || r == exact);

    rc = money_sub(a, b, &r);
    exact = (i128)a - b;
    FUZZ_CHECK((rc == 0) == in_range(exact));
    FUZZ_CHECK(rc != 0 || r == exact);

    for (int mode = MONEY_ROUND_NEAREST; mode <= MONEY_ROUND_TOWARD_ZERO; mode++) {
        /* a*b/SCALE: any rounding is within one unit of the exact quotient. */
        if (money_mul(a, b, (money_round)mode, &r) == 0) {
            i128 p = (i128)a * b, q = (i128)r * MONEY_SCALE;
            FUZZ_CHECK(p - q < MONEY_SCALE && q - p < MONEY_SCALE);
        }
        rc = money_div(a, b, (money_round)mode, &r);
        FUZZ_CHECK(b != 0 || rc == APEX_EINVAL);
        if (rc == 0) {
            i128 n = (i128)a * MONEY_SCALE, q = (i128)r * b;
            i128 ab = b < 0 ? -(i128)b : b;
            FUZZ_CHECK(n - q < ab && q - n < ab);
        }
        rc = money_muldiv(a, b, c, (money_round)mode, &r);
        FUZZ_CHECK(c != 0 || rc == APEX_EINVAL);
        if (rc == 0) {
            i128 n = (i128)a * b, q = (i128)r * c;
            i128 ac = c < 0 ? -(i128)c : c;
            FUZZ_CHECK(n - q < ac && q - n < ac);
        }
        /* Rounding to a tick or lot gives a multiple of it within one step of the value. */
        if (c > 0 && a >= MONEY_MIN) {
            money_t t = money_round_to(a, c, (money_round)mode);
            FUZZ_CHECK(money_is_multiple(t, c));
            i128 d = (i128)t - a;
            FUZZ_CHECK(d < c && -d < c);
        }
    }
    money_is_multiple(a, b);
    if (a >= MONEY_MIN)
        check_roundtrip(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    money_t v;
    if (money_parse((const char *)data, size, &v) == 0) {
        FUZZ_CHECK(v >= MONEY_MIN && v <= MONEY_MAX);
        check_roundtrip(v);
    }
    if (size >= 3 * sizeof(int64_t)) {
        int64_t w[3];
        memcpy(w, data, sizeof w);
        check_arithmetic(w[0], w[1], w[2]);
    }
    if (size >= sizeof(double)) {
        double d;
        memcpy(&d, data + size - sizeof d, sizeof d);
        char err[160];
        if (money_from_double(d, &v, "fuzz", err, sizeof err) == 0) {
            FUZZ_CHECK(v >= MONEY_MIN && v <= MONEY_MAX);
            money_to_double(v);
        }
    }
    return 0;
}
