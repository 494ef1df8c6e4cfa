#include "output_capture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void output_capture_begin(output_capture *c, log_level level)
{
    snprintf(c->path, sizeof c->path, "/tmp/apex_test_output_XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stderr);
    fflush(stdout);
    c->saved_err = dup(STDERR_FILENO);
    c->saved_out = dup(STDOUT_FILENO);
    dup2(c->fd, STDERR_FILENO);
    dup2(c->fd, STDOUT_FILENO);
    c->saved_level = log_get_level();
    log_set_level(level);
}

char *output_capture_end(output_capture *c)
{
    fflush(stderr);
    fflush(stdout);
    dup2(c->saved_err, STDERR_FILENO);
    dup2(c->saved_out, STDOUT_FILENO);
    close(c->saved_err);
    close(c->saved_out);
    close(c->fd);
    log_set_level(c->saved_level);
    char *text = test_read_file(c->path);
    unlink(c->path);
    return text;
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}
