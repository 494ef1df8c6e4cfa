# Crash torture (issue 7): included from the top-level CMakeLists.txt.
#   torture.planted  the invariant checker reports each planted fault under its invariant
#   torture.short    about 30 SIGKILLs and restarts of `apex-host run` (TORTURE_N, SEED,
#                    SPEED... in the environment change it); `make torture N=1000` is the
#                    long run
set(APEX_TORTURE_ENV
    "APEX_HOST=$<TARGET_FILE:apex-host>;APEX_DATAGEN=${CMAKE_BINARY_DIR}/apex-datagen;APEX_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
add_test(NAME torture.planted COMMAND bash ${CMAKE_SOURCE_DIR}/tests/torture/planted.sh)
set_tests_properties(torture.planted PROPERTIES TIMEOUT 300 ENVIRONMENT "${APEX_TORTURE_ENV}")
add_test(NAME torture.short COMMAND bash ${CMAKE_SOURCE_DIR}/tests/torture/torture.sh)
set_tests_properties(torture.short PROPERTIES TIMEOUT 1200 ENVIRONMENT "${APEX_TORTURE_ENV}")
# notify_kill (issue 11): SIGKILLs of a trading run that notifies a fake Telegram; every
# entry, fill and exit reaches the chat exactly once (a row caught `sending`: at least
# once). Three kills here; `make torture-notify` runs six (NOTIFY_KILL_N, _SEED, _SPEED).
add_test(NAME torture.notify_kill COMMAND bash ${CMAKE_SOURCE_DIR}/tests/torture/notify_kill.sh)
set_tests_properties(torture.notify_kill PROPERTIES TIMEOUT 600 ENVIRONMENT
  "${APEX_TORTURE_ENV};APEX_BUILD_DIR=${CMAKE_BINARY_DIR};NOTIFY_KILL_N=3")
