/* heat: the open risk of one broker account, shared by every pipeline trading it.
 *
 * A position's risk is what it loses if its stop fills: qty x |entry - stop|. An entry
 * counts from the moment it passes the risk stage (before its order is even sent), so two
 * signals of the same bar cannot both take the last room. The account's heat is the sum
 * over its open positions and working entries; risk.max_heat_pct limits it as a fraction
 * of the account's equity.
 *
 * The book keeps running totals (the account's and each symbol's), moved by
 * risk_book_move when a position is sized, filled or closed, so a check is O(1) however
 * many positions are open. It also keeps each symbol's recent returns for the
 * correlation clusters (risk/correlation.h).
 *
 * One book per account: risk_book_acquire returns the same book for the same account key
 * (any stable pointer naming the account, e.g. its inner broker: broker/shared.h) and
 * counts its users; the last risk_book_release frees it. Single-threaded, like the loop. */
#ifndef APEX_RISK_HEAT_H
#define APEX_RISK_HEAT_H

#include <stdbool.h>
#include <stddef.h>

#include "clock/clock.h"
#include "config/config.h"
#include "money/money.h"
#include "risk/correlation.h"

typedef struct risk_book risk_book;

/* The book of account (created on first use, window = the return history to keep per
 * symbol; a later user with a longer window lengthens it before any bar). NULL when out of
 * memory. */
risk_book *risk_book_acquire(const void *account, int window);
void risk_book_release(risk_book *b);

/* The account's heat: the sum of every contribution. */
money_t risk_book_heat(const risk_book *b);
/* The open risk on symbol_id (0 for an unknown id). */
money_t risk_book_symbol_heat(const risk_book *b, int symbol_id);
/* Moves one position's contribution on symbol_id from *held to now (>= 0); *held becomes
 * now. O(1). */
void risk_book_move(risk_book *b, int symbol_id, money_t *held, money_t now);
/* Symbols with open risk, in no order: n of them into *ids (the book's array, valid until
 * the next move). */
const int *risk_book_open_symbols(const risk_book *b, int *n);

/* A bar of symbol_id: its simple return goes into the symbol's ring (risk/correlation.h). */
void risk_book_on_bar(risk_book *b, int symbol_id, apex_time ts, money_t close);

/* The symbol's returns, NULL before its first bar; the window the book keeps. */
const risk_series *risk_book_series(const risk_book *b, int symbol_id);
int risk_book_window(const risk_book *b);

/* The candidate's cluster: the symbols with open risk whose returns correlate with the
 * candidate's above threshold over window bars (and the candidate itself when it has open
 * risk, e.g. in another pipeline). *heat = their open risk, *n = how many; their names
 * (name(ud, id)) and r go into names, comma-separated. O(open symbols x window). */
void risk_book_cluster(risk_book *b, int candidate, double threshold, int window,
                       const char *(*name)(void *ud, int id), void *ud, money_t *heat, int *n,
                       char *names, size_t len);

/* One execution at a time trades a symbol on an account. Pipelines that share an account
 * check the broker for a position and for open orders before they enter, but two entries
 * of the same symbol can both pass those checks while neither has reached the broker;
 * the claim closes that gap. risk_book_claim claims symbol_id for owner (any stable
 * pointer naming the execution): true when it was free or is owner's already; false when
 * another holds it, which *holder then names. risk_book_unclaim gives it back if owner
 * holds it. Claims live in this process: two hosts on one account are not coordinated. */
bool risk_book_claim(risk_book *b, int symbol_id, const void *owner, const void **holder);
void risk_book_unclaim(risk_book *b, int symbol_id, const void *owner);

/* A position's risk to its stop, rounded up: qty x (entry - stop) for a long (qty > 0),
 * |qty| x (stop - entry) for a short; 0 when the stop locks in a profit (a trailing stop
 * past the entry) or a price is 0. */
money_t risk_position_risk(money_t qty, money_t entry, money_t stop);

typedef struct {
    money_t equity;       /* the account's */
    money_t open_heat;    /* the account's heat, without this trade */
    money_t cluster_heat; /* open risk of the trade's cluster, without this trade */
    int cluster_size;     /* open symbols in the cluster (0: none, or no cluster limit) */
    const char *cluster;  /* their names, for the message ("" when none) */
    money_t entry, stop;
    money_t qty; /* as sized */
    money_t lot; /* the instrument's lot (shrinking keeps whole lots) */
} risk_heat_input;

typedef struct {
    money_t qty;   /* what may trade: the sized qty, less when shrunk, 0 when refused */
    money_t risk;  /* qty x |entry - stop| */
    bool shrunk;   /* qty was reduced to fit */
    char why[384]; /* the refusal or the shrink, with its numbers; "" when it fit */
} risk_heat_decision;

/* Checks the trade against risk.max_heat_pct (the account) and risk.max_cluster_heat_pct
 * (its cluster; 0 = no cluster limit). A trade that does not fit is refused, or shrunk to
 * the whole lots that fit when risk.heat_shrink is true (refused when not one lot fits).
 * equity <= 0 refuses: there is nothing to measure heat against. */
void risk_heat_check(const risk_config *cfg, const risk_heat_input *in, risk_heat_decision *out);

#endif
