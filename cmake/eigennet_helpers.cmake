# Compile options shared by every eigennet target.
function(eigennet_set_flags target)
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-maybe-uninitialized -fno-math-errno>)
  if(EIGENNET_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# A GoogleTest executable registered with ctest.
function(eigennet_add_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE eigennet_core GTest::gtest GTest::gtest_main)
  eigennet_set_flags(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
endfunction()

# A Google Benchmark executable.
function(eigennet_add_bench name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE eigennet_core benchmark::benchmark)
  eigennet_set_flags(${name})
endfunction()
