/* cli: subcommands, flags and exit codes of the apex-host command. */
#ifndef APEX_CLI_H
#define APEX_CLI_H

/* Parses argv and runs the subcommand. Returns the process exit code. */
int cli_main(int argc, char **argv);

#endif
