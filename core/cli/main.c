/* apex-host: command-line entry point. The subcommands live in cli.c. */
#include <malloc.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    /* Blocks of 128 KiB and more are mapped and unmapped on their own. glibc otherwise
     * raises this threshold after the first large free, and the big blocks a script frees
     * (a grown Lua stack, a large table's array) stay in the heap: a script under its
     * 64 MiB cap pushed the process to 81 MB. Fixed, the process's memory follows the
     * cap (docs/security.md). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    return cli_main(argc, argv);
}
