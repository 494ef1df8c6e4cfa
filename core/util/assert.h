/* assert: invariants that must hold, checked in Debug and sanitizer builds.
 *
 * APEX_ASSERT is for the host's own bookkeeping (a hold count below zero, a trade freed
 * while held), never for bad input, which gets an error that names the field. Release
 * builds (NDEBUG, as CMake's RelWithDebInfo sets it) compile the check out. */
#ifndef APEX_UTIL_ASSERT_H
#define APEX_UTIL_ASSERT_H

void apex_assert_fail(const char *cond, const char *file, int line, const char *func)
    __attribute__((noreturn));

#if !defined(NDEBUG) || defined(APEX_FORCE_ASSERT)
#define APEX_ASSERT(cond) ((cond) ? (void)0 : apex_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define APEX_ASSERT(cond) ((void)0)
#endif

#endif
