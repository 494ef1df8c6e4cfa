/* assert: invariant checks that are on in Debug and sanitizer builds and cost nothing in
 * a release build.
 *
 *     APEX_ASSERT(t->holds >= 0);
 *
 * An APEX_ASSERT states something the code itself guarantees (an invariant), never
 * something about input: bad input is an error code and a message, as everywhere. When
 * one fails the program is already wrong, so it prints "file:line: assertion failed:
 * cond" to stderr and aborts, leaving a core dump or a sanitizer trace at the spot.
 *
 * Active unless NDEBUG is defined, and always when APEX_SANITIZE is (the sanitizer build
 * defines it whatever its build type). In a release build the condition is not
 * evaluated, but it is still compiled, so it cannot rot and the variables it reads do
 * not become "unused". */
#ifndef APEX_UTIL_ASSERT_H
#define APEX_UTIL_ASSERT_H

#if !defined(NDEBUG) || defined(APEX_SANITIZE)
#define APEX_ASSERTS_ON 1
#else
#define APEX_ASSERTS_ON 0
#endif

/* Prints the failure and aborts; called only by APEX_ASSERT. */
_Noreturn void apex_assert_fail(const char *file, int line, const char *cond);

#if APEX_ASSERTS_ON
#define APEX_ASSERT(cond) ((cond) ? (void)0 : apex_assert_fail(__FILE__, __LINE__, #cond))
#else
/* `0 &&` keeps cond compiled and its names referenced, and never runs it. */
#define APEX_ASSERT(cond) ((void)(0 && (cond)))
#endif

#endif
