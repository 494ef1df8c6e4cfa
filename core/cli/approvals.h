/* approvals: `apex-host approvals`, `apex-host approve ID`, `apex-host reject ID` and
 * `apex-host close ID` (a position closed by hand), against
 * the store of a running host (docs/approval.md). The answer is written into the store;
 * the host reads it within a second and acts on it. */
#ifndef APEX_CLI_APPROVALS_H
#define APEX_CLI_APPROVALS_H

#include "store/store.h"

extern const char *const cli_usage_approvals;
extern const char *const cli_usage_approve;
extern const char *const cli_usage_reject;
extern const char *const cli_usage_close;

/* argv as main's: argv[1] is the command. Return an exit code. */
int cli_approvals(int argc, char **argv);
int cli_answer(int argc, char **argv, int approve);
/* `apex-host close ID`: a position closed by hand (pipeline/close_request.h). */
int cli_close(int argc, char **argv);

#endif
