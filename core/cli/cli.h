/* cli: subcommands, flags and exit codes of the apex-host command. */
#ifndef APEX_CLI_H
#define APEX_CLI_H

/* Parses argv and runs the subcommand. Returns the process exit code. */
int cli_main(int argc, char **argv);

/* Prints "apex-host: <fmt with arg>" and the command's usage to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, const char *arg);

#endif
