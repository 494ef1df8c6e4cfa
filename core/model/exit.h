/* model/exit: the exit vocabulary of seed 003: the ten conditions and their priorities,
 * how an exit order is priced at each priority, and an exit's status.
 *
 *   CRITICAL  stop_loss, circuit_breaker          (+ emergency instruction rules)
 *   HIGH      trailing_stop, time_based_urgent, liquidity_dried_up
 *   MEDIUM    profit_target, partial_exit_target
 *   LOW       early_exit, edge_disappeared, rebalance
 *
 * There is no edge_reversal condition (REQ-EXIT-009). Two decisions come from outside
 * the evaluator and follow the ten: an emergency instruction rule (CRITICAL) and a close
 * the strategy returned from on_bar (strategy_exit, at exits.strategy_exit_priority).
 * Names are the seed's, used as text at the SQL and JSON boundaries. */
#ifndef APEX_MODEL_EXIT_H
#define APEX_MODEL_EXIT_H

typedef enum {
    EXIT_PRIORITY_CRITICAL = 0,
    EXIT_PRIORITY_HIGH,
    EXIT_PRIORITY_MEDIUM,
    EXIT_PRIORITY_LOW,
    EXIT_PRIORITY_COUNT
} exit_priority;

typedef enum { PRICE_MARKET = 0, PRICE_AGGRESSIVE, PRICE_FAIR, PRICE_CONSERVATIVE } price_strategy;

typedef enum {
    EXIT_NONE = -1,
    EXIT_STOP_LOSS = 0,
    EXIT_CIRCUIT_BREAKER,
    EXIT_TRAILING_STOP,
    EXIT_TIME_BASED_URGENT,
    EXIT_LIQUIDITY_DRIED_UP,
    EXIT_PROFIT_TARGET,
    EXIT_PARTIAL_EXIT_TARGET,
    EXIT_EARLY_EXIT,
    EXIT_EDGE_DISAPPEARED,
    EXIT_REBALANCE,
    EXIT_CONDITION_COUNT, /* = 10 */
    /* Not one of the ten: an instruction rule ("close if VIX > 40") that fired. CRITICAL. */
    EXIT_EMERGENCY_INSTRUCTION = EXIT_CONDITION_COUNT,
    /* Not one of the ten: the strategy's on_bar returned { side = "close" }. Its priority
     * is the pipeline's exits.strategy_exit_priority; exit_condition_priority gives the
     * default, CRITICAL. */
    EXIT_STRATEGY_EXIT,
    /* Not one of the ten: the trader asked for the position to be closed (`apex-host close`,
     * the HTTP API, the dashboard). CRITICAL, at market. */
    EXIT_MANUAL_CLOSE,
} exit_condition;

/* An exit's progress, as position_exits.status records it. */
typedef enum {
    EXIT_STATUS_WORKING = 0, /* triggered; orders being worked */
    EXIT_STATUS_FILLED,      /* the asked quantity (or what was open) is closed */
    EXIT_STATUS_FAILED,      /* gave up; the other exits still protect the position */
    EXIT_STATUS_CANCELLED,   /* superseded, interrupted, or nothing left to exit */
    EXIT_STATUS_COUNT
} exit_status;

const char *exit_priority_name(exit_priority p);   /* "CRITICAL", ... ; "UNKNOWN" */
int exit_priority_parse(const char *name);         /* -1 if unknown */
const char *price_strategy_name(price_strategy s); /* "market", "aggressive", ... */
int price_strategy_parse(const char *name);        /* -1 if unknown */
const char *exit_condition_name(exit_condition c); /* "stop_loss", ..., "strategy_exit" */
int exit_condition_parse(const char *name);        /* -1 if unknown (e.g. "edge_reversal") */
exit_priority exit_condition_priority(exit_condition c);
const char *exit_status_name(exit_status s); /* "working", "filled", "failed", "cancelled" */
int exit_status_parse(const char *name);     /* -1 if unknown */

#endif
