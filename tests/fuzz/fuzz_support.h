/* fuzz_support: helpers shared by the libFuzzer harnesses in tests/fuzz/.
 *
 * The parsers under test read files by path, so each input is handed to them as a
 * file: an anonymous in-memory file (memfd) reached through /proc/self/fd/N, which
 * costs no disk I/O and leaves nothing behind when the harness dies. */
#ifndef APEX_FUZZ_SUPPORT_H
#define APEX_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points, which each harness defines (Initialize is optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An in-memory file holding data; path is "/proc/self/fd/N" (opening it gives a new,
 * independent file offset). */
typedef struct {
    int fd;
    char path[64];
} fuzz_file;

/* Creates the file with the first size bytes of data. Aborts on a system error: the
 * harness cannot run without it, and that is no finding about the code under test. */
void fuzz_file_open(fuzz_file *f, const uint8_t *data, size_t size);
/* Appends to the file (a growing file, as `tail -f` sees one). */
void fuzz_file_append(fuzz_file *f, const uint8_t *data, size_t size);
void fuzz_file_close(fuzz_file *f);

/* Fails the run (abort, which libFuzzer reports as a crash with the input saved) when
 * cond is false: an invariant of the code under test does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* Silences the host's log (info and warnings) so a run prints only libFuzzer's lines. */
void fuzz_quiet_logs(void);

#endif
