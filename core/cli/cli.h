/* cli: subcommands, flags and exit codes of the apex-host command. */
#ifndef APEX_CLI_H
#define APEX_CLI_H

#include "store/store.h"

/* Parses argv and runs the subcommand. Returns the process exit code. */
int cli_main(int argc, char **argv);

/* Prints "apex-host: <fmt with arg>" and the command's usage to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, const char *arg);

/* Opens an existing store for a command (never creates one), or prints why not (no such
 * file, cannot open) and returns NULL: the caller exits with EXIT_STORE. */
store *cli_open_store(const char *db);

#endif
