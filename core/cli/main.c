/* apex-host: command-line entry point. The subcommands live in cli.c. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
