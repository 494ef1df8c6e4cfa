/* fake_process: see fake_process.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_process.h"

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

pid_t fake_process_start(char *const argv[], int *port)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(out[1], 1);
        close(out[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    FILE *r = fdopen(out[0], "r");
    char line[128] = "";
    assert_non_null(fgets(line, sizeof line, r));
    fclose(r);
    assert_int_equal(sscanf(line, "listening 127.0.0.1:%d", port), 1);
    return pid;
}
