# ctest script: runs a libFuzzer binary for a bounded time on a working copy of its seed corpus.
# The working copy lives in the build tree, so the seeds in the repository stay small and unchanged while
# the corpus the fuzzer grows is kept between runs.
# Usage: cmake -DFUZZER= -DSEEDS= -DWORK= -DARTIFACTS= -DDICTIONARY= -DSECONDS= -P run_fuzzer.cmake
cmake_minimum_required(VERSION 3.25)

foreach(var FUZZER SEEDS WORK ARTIFACTS DICTIONARY SECONDS)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_fuzzer.cmake: ${var} is not set")
  endif()
endforeach()

file(MAKE_DIRECTORY "${WORK}" "${ARTIFACTS}")
file(GLOB seeds "${SEEDS}/*")
file(COPY ${seeds} DESTINATION "${WORK}")

execute_process(
  COMMAND "${FUZZER}"
    "-max_total_time=${SECONDS}" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
    "-dict=${DICTIONARY}" "-artifact_prefix=${ARTIFACTS}/"
    "${WORK}"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${FUZZER} reported a finding (exit code ${result}); the input that triggered it is in "
                      "${ARTIFACTS}/ (replay: ${FUZZER} <that file>)")
endif()
