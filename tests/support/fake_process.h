/* fake_process: starts a fake server binary (tests/fake_alpaca, tests/fake_telegram) for a
 * cmocka test and reads the port it listens on. Tests only; failures fail the test. */
#ifndef APEX_TEST_FAKE_PROCESS_H
#define APEX_TEST_FAKE_PROCESS_H

#include <sys/types.h>

/* Runs argv[0] with argv (NULL-terminated) and waits for its first stdout line,
 * "listening 127.0.0.1:PORT"; *port gets PORT. The child gets SIGTERM when the test process
 * dies (a failed test takes it along). Returns its pid. */
pid_t fake_process_start(char *const argv[], int *port);

#endif
