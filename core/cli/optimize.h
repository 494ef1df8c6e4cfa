/* optimize: `apex-host optimize`, a parameter search over one pipeline.
 *
 * Each parameter set is an `apex-host backtest --param ...` child process of this binary
 * (its own Lua state, its own temporary store), up to --jobs at a time. The parent reads
 * each store with the same analytics the backtest summary uses, ranks the sets by the
 * in-sample metric among those with enough trades, and writes the table as CSV and JSON.
 * Backtests are deterministic and the set order is fixed (grid order, or a seeded sample
 * of it), so the same command gives the same table. `--search halving` runs the sets in
 * rungs (successive halving): all on the first part of the in-sample bars, the best 1/eta
 * on eta times as many, until the last rung runs on all of them. */
#ifndef APEX_CLI_OPTIMIZE_H
#define APEX_CLI_OPTIMIZE_H

extern const char *const cli_usage_optimize;

/* argv as main's: argv[1] is "optimize". Returns an exit code. */
int cli_optimize(int argc, char **argv);

#endif
