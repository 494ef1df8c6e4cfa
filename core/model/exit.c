/* model/exit: names and priorities of the exit vocabulary (seed 003). */
#include "model/exit.h"

#include "model/model_internal.h"

/* The ten conditions plus the emergency instruction, strategy exit and manual close slots
 * after them. */
#define EXIT_SLOT_COUNT (EXIT_MANUAL_CLOSE + 1)

static const char *const condition_names[EXIT_SLOT_COUNT] = {
    "stop_loss",          "circuit_breaker", "trailing_stop",         "time_based_urgent",
    "liquidity_dried_up", "profit_target",   "partial_exit_target",   "early_exit",
    "edge_disappeared",   "rebalance",       "emergency_instruction", "strategy_exit",
    "manual_close",
};

static const exit_priority condition_priorities[EXIT_SLOT_COUNT] = {
    EXIT_PRIORITY_CRITICAL, EXIT_PRIORITY_CRITICAL, /* stop_loss, circuit_breaker */
    EXIT_PRIORITY_HIGH,     EXIT_PRIORITY_HIGH,     /* trailing_stop, time_based_urgent */
    EXIT_PRIORITY_HIGH,                             /* liquidity_dried_up */
    EXIT_PRIORITY_MEDIUM,   EXIT_PRIORITY_MEDIUM,   /* profit_target, partial_exit_target */
    EXIT_PRIORITY_LOW,      EXIT_PRIORITY_LOW,      /* early_exit, edge_disappeared */
    EXIT_PRIORITY_LOW,                              /* rebalance */
    EXIT_PRIORITY_CRITICAL,                         /* emergency_instruction */
    EXIT_PRIORITY_CRITICAL, /* strategy_exit: the default of exits.strategy_exit_priority */
    EXIT_PRIORITY_CRITICAL, /* manual_close */
};

static const char *const priority_names[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW"};
static const char *const strategy_names[] = {"market", "aggressive", "fair", "conservative"};
static const char *const status_names[] = {"working", "filled", "failed", "cancelled"};

const char *exit_condition_name(exit_condition c)
{
    return model_name(condition_names, EXIT_SLOT_COUNT, (int)c, "none");
}

int exit_condition_parse(const char *name)
{
    return model_parse(condition_names, EXIT_SLOT_COUNT, name); /* no "edge_reversal" */
}

exit_priority exit_condition_priority(exit_condition c)
{
    /* An unknown condition is treated as the least urgent, so a caller indexing the
     * execution table with the answer never reads out of bounds. */
    if ((int)c < 0 || (int)c >= EXIT_SLOT_COUNT)
        return EXIT_PRIORITY_LOW;
    return condition_priorities[c];
}

const char *exit_priority_name(exit_priority p)
{
    return model_name(priority_names, MODEL_COUNT(priority_names), (int)p, "UNKNOWN");
}

int exit_priority_parse(const char *name)
{
    return model_parse(priority_names, MODEL_COUNT(priority_names), name);
}

const char *price_strategy_name(price_strategy s)
{
    return model_name(strategy_names, MODEL_COUNT(strategy_names), (int)s, "unknown");
}

int price_strategy_parse(const char *name)
{
    return model_parse(strategy_names, MODEL_COUNT(strategy_names), name);
}

const char *exit_status_name(exit_status s)
{
    return model_name(status_names, MODEL_COUNT(status_names), (int)s, "unknown");
}

int exit_status_parse(const char *name)
{
    return model_parse(status_names, MODEL_COUNT(status_names), name);
}
