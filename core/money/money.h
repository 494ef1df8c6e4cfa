/* money: fixed-point prices, quantities, cash and ratios.
 *
 * Every amount in the core and the store is an int64 with MONEY_SCALE units
 * per whole (1e-8 resolution), never binary floating point: $12.34 is
 * 1234000000, 0.00048 BTC is 48000, 1.5% as a ratio is 1500000. Products and
 * quotients go through 128-bit intermediates and are checked for overflow.
 * The range is about +/-92 billion whole units, ample for cash in any account.
 *
 * Rounding: conversions and products round half to even (banker's rounding),
 * so a ledger of many fills does not drift; tick and lot rounding take an
 * explicit direction because the right one depends on the order side. */
#ifndef APEX_MONEY_H
#define APEX_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MONEY_SCALE    100000000LL
#define MONEY_DECIMALS 8
#define MONEY_MAX      INT64_MAX
#define MONEY_MIN      (-INT64_MAX)

typedef int64_t money_t; /* a price, a quantity, cash or a ratio, all at MONEY_SCALE */

typedef enum {
    MONEY_ROUND_NEAREST = 0, /* half to even */
    MONEY_ROUND_DOWN,        /* toward negative infinity */
    MONEY_ROUND_UP,          /* toward positive infinity */
    MONEY_ROUND_TOWARD_ZERO,
} money_round;

/* Whole units to fixed point: money_from_int(3) == 3 * MONEY_SCALE. No overflow check;
 * use for constants. */
#define MONEY(whole) ((money_t)(whole)*MONEY_SCALE)

/* Doubles converted by money_from_double must be smaller than this in magnitude: a hair
 * under MONEY_MAX / MONEY_SCALE, so the scaled value always fits. */
#define MONEY_DOUBLE_LIMIT 92233720368.0

/* Converts a double (as Lua numbers arrive) to fixed point, rounding half to even at the
 * 8th decimal. Rejects NaN, infinities and values outside the range (|v| >=
 * MONEY_DOUBLE_LIMIT): APEX_EINVAL or APEX_ERANGE, with the message naming `what` (e.g.
 * "stop_loss"). */
int money_from_double(double v, money_t *out, const char *what, char *err, size_t errlen);

/* A double as exact decimal text with no exponent, from at most 15 significant digits
 * ("%.15g": every decimal of at most 15 significant digits survives the trip through a
 * double unchanged): "0.00001234", not "1.234e-05", for money_parse to read. This is how
 * a JSON number (which jansson keeps only as a double) becomes an exact amount. false
 * when v is not finite or out is too small. */
bool money_double_text(double v, char *out, size_t outlen);

/* Fixed point to double, for Lua and for display only; never for arithmetic. */
double money_to_double(money_t v);

/* Parses an exact decimal such as "-12.345", "7", "0.00048", "1e3" is NOT accepted.
 * More than 8 decimals are rounded half to even. `len` is the number of bytes to read
 * (the string needs no terminator). Returns 0, APEX_EINVAL or APEX_ERANGE. */
int money_parse(const char *s, size_t len, money_t *out);

/* Formats with exactly `decimals` places (0..8), rounding half to even, e.g. "12.34".
 * Returns buf. */
char *money_format(money_t v, int decimals, char *buf, size_t buflen);

/* Formats with as few decimals as show the value exactly, at least `min_decimals`. */
char *money_format_trim(money_t v, int min_decimals, char *buf, size_t buflen);

/* Checked arithmetic: 0 on success, APEX_ERANGE on overflow (out untouched). */
int money_add(money_t a, money_t b, money_t *out);
int money_sub(money_t a, money_t b, money_t *out);
/* a * b / SCALE, e.g. price * quantity = cash, or cash * ratio. Rounds with `mode`. */
int money_mul(money_t a, money_t b, money_round mode, money_t *out);
/* a * SCALE / b, e.g. cash / price = quantity. APEX_EINVAL when b == 0. */
int money_div(money_t a, money_t b, money_round mode, money_t *out);
/* a * b / c without intermediate rounding (128-bit), e.g. pro-rating a fee. */
int money_muldiv(money_t a, money_t b, money_t c, money_round mode, money_t *out);

/* Rounds v to a multiple of step (a tick size or a lot size); step <= 0 returns v. */
money_t money_round_to(money_t v, money_t step, money_round mode);

/* True when v is a whole multiple of step (or step <= 0). */
bool money_is_multiple(money_t v, money_t step);

/* Per-instrument rounding rules. Defaults: tick 0.01, lot 1. */
typedef struct {
    money_t tick; /* smallest price increment */
    money_t lot;  /* smallest quantity increment, and the minimum order size */
} money_instrument;

#define MONEY_INSTRUMENT_DEFAULT ((money_instrument){.tick = MONEY_SCALE / 100, .lot = MONEY_SCALE})

#endif
