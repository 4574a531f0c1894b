# Kernel sets: the CPU kernels compiled once per instruction set and chosen at run time
# (cpp/src/cpu/kernel_set.h). EIGENNET_KERNEL_SETS lists them best first; EIGENNET_BASELINE_FLAGS
# are the flags of everything else in the core.
if(EIGENNET_NATIVE)
  set(EIGENNET_KERNEL_SETS native)
  set(EIGENNET_BASELINE_FLAGS -march=native)
  set(_eigennet_kset_flags_native -march=native)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  # x86-64-v2 (SSE4.2, POPCNT): every x86-64 CPU of the last fifteen years.
  set(EIGENNET_KERNEL_SETS avx512 avx2 baseline)
  set(EIGENNET_BASELINE_FLAGS -march=x86-64-v2 -mtune=generic)
  set(_eigennet_kset_flags_baseline ${EIGENNET_BASELINE_FLAGS})
  set(_eigennet_kset_flags_avx2 ${EIGENNET_BASELINE_FLAGS} -mavx2 -mfma)
  set(_eigennet_kset_flags_avx512 ${_eigennet_kset_flags_avx2} -mavx512f -mavx512dq -mavx512bw
                                   -mavx512vl)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64|ARM64)$")
  # NEON is part of every aarch64 CPU.
  set(EIGENNET_KERNEL_SETS neon)
  set(EIGENNET_BASELINE_FLAGS "")
  set(_eigennet_kset_flags_neon "")
else()
  set(EIGENNET_KERNEL_SETS baseline)
  set(EIGENNET_BASELINE_FLAGS "")
  set(_eigennet_kset_flags_baseline "")
endif()

# Adds every kernel set, built from the sources in ARGN, to `target`. Each set is compiled with its
# flags, partially linked into one object, and every symbol but its table is made local, so that
# the linker can never resolve an inline function of one set (a std:: or Eigen template, say)
# to the copy compiled with another set's instructions. GCC's "unique global" symbols (static
# locals of inline functions) cannot be made local, so the sets are compiled without them.
function(eigennet_add_kernel_sets target)
  if(APPLE OR WIN32 OR NOT CMAKE_OBJCOPY)
    message(FATAL_ERROR "eigennet: kernel sets need GNU ld and objcopy (Linux); "
                        "build with -DEIGENNET_NATIVE=ON elsewhere.")
  endif()
  set(_inc "")
  foreach(_set IN LISTS EIGENNET_KERNEL_SETS)
    set(_obj eigennet_kset_${_set})
    add_library(${_obj} OBJECT ${ARGN})
    target_include_directories(${_obj} PRIVATE ${PROJECT_SOURCE_DIR}/cpp/include
                                               ${PROJECT_SOURCE_DIR}/cpp/src)
    target_compile_definitions(${_obj} PRIVATE EIGEN_DONT_PARALLELIZE EIGENNET_KSET=${_set}
                                               EIGENNET_KSET_SYMBOL=eigennet_kernels_${_set})
    target_link_libraries(${_obj} PRIVATE Eigen3::Eigen)
    if(OpenMP_CXX_FOUND)
      target_link_libraries(${_obj} PRIVATE OpenMP::OpenMP_CXX)
    endif()
    target_compile_options(${_obj} PRIVATE ${_eigennet_kset_flags_${_set}} -fvisibility=hidden
                                           -fvisibility-inlines-hidden -ffp-contract=fast
                                           $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
    eigennet_set_flags(${_obj})
    set(_out ${CMAKE_CURRENT_BINARY_DIR}/kernel_set_${_set}.o)
    add_custom_command(
      OUTPUT ${_out}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${_out}.partial
              $<TARGET_OBJECTS:${_obj}>
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=eigennet_kernels_${_set} ${_out}.partial ${_out}
      DEPENDS ${_obj} $<TARGET_OBJECTS:${_obj}>
      COMMAND_EXPAND_LISTS VERBATIM
      COMMENT "Kernel set ${_set}: one object, its table the only global symbol")
    target_sources(${target} PRIVATE ${_out})
    string(APPEND _inc "EIGENNET_KERNEL_SET(${_set})\n")
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/kernel_sets/kernel_sets.inc CONTENT "${_inc}")
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/kernel_sets)
  message(STATUS "eigennet: kernel sets ${EIGENNET_KERNEL_SETS}")
endfunction()
