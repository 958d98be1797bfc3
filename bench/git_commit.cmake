# Writes OUTPUT: `#define MLP_GIT_COMMIT "<abbreviated hash>[-dirty]"` for the source tree in
# SOURCE_DIR. Run at every build (bench/CMakeLists.txt), it rewrites the file only when the value
# changed, so the commit in a benchmark's context is the one the binary was built from.
cmake_minimum_required(VERSION 3.25)
execute_process(
  COMMAND git -C "${SOURCE_DIR}" describe --always --dirty --abbrev=12
  OUTPUT_VARIABLE commit
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE result
  ERROR_QUIET)
if(NOT result EQUAL 0 OR commit STREQUAL "")
  set(commit "unknown")
endif()
file(CONFIGURE OUTPUT "${OUTPUT}" CONTENT "#define MLP_GIT_COMMIT \"@commit@\"\n" @ONLY)
