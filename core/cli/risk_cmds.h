/* risk_cmds: `apex-host resume` and `apex-host reduce-only` (docs/risk.md). */
#ifndef APEX_CLI_RISK_CMDS_H
#define APEX_CLI_RISK_CMDS_H

extern const char *const cli_usage_resume;
extern const char *const cli_usage_reduce_only;

#include "store/store.h"

/* argv as cli_main has it (argv[1] is the command). Return the process exit code. */
int cli_resume(int argc, char **argv);
int cli_reduce_only(int argc, char **argv);

#endif
