# The sandbox escape suite (tests/sandbox/README.md), included from the top-level
# CMakeLists.txt: one ctest per folder of tests/sandbox/attempts/ (sandbox.io_os,
# sandbox.deadline, ...), so `ctest -j` runs the groups side by side. Each group runs every
# attempt in it against the built apex-host next to a control pipeline and checks survival,
# the documented failure, the control's trades and the time, memory and output bounds;
# APEX_SANITIZE selects the sanitizer build's memory ceiling.
add_executable(sandbox-measure ${CMAKE_SOURCE_DIR}/tests/sandbox/measure.c)

file(GLOB APEX_SANDBOX_GROUPS LIST_DIRECTORIES true CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/tests/sandbox/attempts/*)
foreach(dir ${APEX_SANDBOX_GROUPS})
  if(IS_DIRECTORY ${dir})
    get_filename_component(group ${dir} NAME)
    add_test(NAME sandbox.${group}
             COMMAND bash ${CMAKE_SOURCE_DIR}/tests/sandbox/run.sh ${group})
    # A hang is killed after 60 s per attempt (the liveness limit), so a group whose
    # attempts all hang still ends; the timeout only guards the runner itself.
    set_tests_properties(sandbox.${group} PROPERTIES TIMEOUT 1800 ENVIRONMENT
      "APEX_HOST=$<TARGET_FILE:apex-host>;APEX_MEASURE=$<TARGET_FILE:sandbox-measure>;APEX_SOURCE_DIR=${CMAKE_SOURCE_DIR};APEX_SANITIZE=$<BOOL:${APEX_SANITIZE}>")
  endif()
endforeach()
