/* output_capture: what a test process writes to stdout and stderr (log lines included),
 * captured in a temporary file so the test can search it, e.g. for a secret that must
 * never be printed. */
#ifndef APEX_TEST_OUTPUT_CAPTURE_H
#define APEX_TEST_OUTPUT_CAPTURE_H

#include "util/log.h"

typedef struct {
    char path[64];
    int fd, saved_err, saved_out;
    log_level saved_level;
} output_capture;

/* From now on stdout and stderr go to a temporary file, and the log prints from level. */
void output_capture_begin(output_capture *c, log_level level);
/* Restores stdout, stderr and the log level, and returns everything written meanwhile
 * (malloc'd, NUL-terminated; the file is removed). */
char *output_capture_end(output_capture *c);

/* The whole file at path, NUL-terminated and malloc'd; fails the test when unreadable. */
char *test_read_file(const char *path);

#endif
