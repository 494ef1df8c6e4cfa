/* apex-host: command-line entry point. See cli.c for the subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "version") == 0) {
        printf("apex-host %s\n", APEX_VERSION);
        return 0;
    }
    fprintf(stderr, "apex-host: the command line is being built\n");
    return 2;
}
