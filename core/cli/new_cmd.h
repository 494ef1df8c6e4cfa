/* new_cmd: `apex-host new strategy NAME` writes a commented strategy and its pipeline. */
#ifndef APEX_CLI_NEW_CMD_H
#define APEX_CLI_NEW_CMD_H

extern const char *const cli_usage_new;

/* argv as main's: argv[1] is "new". Returns an exit code. */
int cli_new(int argc, char **argv);

#endif
