# Where the build's dependencies come from, the same way on every machine.
#
# Eigen: always cmeel-eigen from PyPI, never a system copy, so no build can depend on headers a
# person happened to install. Looked for, in order:
#   1. EIGENNET_EIGEN_PREFIX, a cmeel.prefix folder given on the command line;
#   2. the cmeel.prefix of a Python environment: each CMAKE_PREFIX_PATH entry (scikit-build-core
#      puts its build environment there) and the site-packages of Python_EXECUTABLE;
#   3. otherwise the pinned wheel, downloaded by pip into the build tree and unpacked there.
# GoogleTest and Google Benchmark (tests and benchmarks only): Debian's libgtest-dev and
# libbenchmark-dev, which tests/run.sh installs; /usr/local is never searched for them.

set(EIGENNET_EIGEN_REQUIREMENT "cmeel-eigen>=3.4,<3.5")

function(eigennet_find_eigen)
  set(_hints "")
  if(EIGENNET_EIGEN_PREFIX)
    list(APPEND _hints "${EIGENNET_EIGEN_PREFIX}")
  endif()
  foreach(_prefix IN LISTS CMAKE_PREFIX_PATH)
    list(APPEND _hints "${_prefix}/cmeel.prefix")
  endforeach()
  find_package(Python COMPONENTS Interpreter)
  if(Python_EXECUTABLE)
    execute_process(COMMAND "${Python_EXECUTABLE}" -c
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                    OUTPUT_VARIABLE _purelib OUTPUT_STRIP_TRAILING_WHITESPACE)
    list(APPEND _hints "${_purelib}/cmeel.prefix")
  endif()
  set(_fetched "${CMAKE_BINARY_DIR}/_deps/cmeel-eigen")
  list(APPEND _hints "${_fetched}/cmeel.prefix")
  find_package(Eigen3 3.4 CONFIG QUIET PATHS ${_hints} NO_DEFAULT_PATH)
  if(NOT Eigen3_FOUND)
    if(NOT Python_EXECUTABLE)
      message(FATAL_ERROR "eigennet: Eigen comes from the PyPI package cmeel-eigen, and no Python "
                          "was found to download it. Pass -DEIGENNET_EIGEN_PREFIX=<cmeel.prefix>.")
    endif()
    message(STATUS "eigennet: downloading ${EIGENNET_EIGEN_REQUIREMENT} into ${_fetched}")
    execute_process(COMMAND "${Python_EXECUTABLE}" -m pip download --quiet --no-deps
                            --only-binary=:all: "${EIGENNET_EIGEN_REQUIREMENT}" -d "${_fetched}"
                    RESULT_VARIABLE _rc)
    file(GLOB _wheel "${_fetched}/cmeel_eigen-*.whl")
    if(NOT _rc EQUAL 0 OR NOT _wheel)
      message(FATAL_ERROR "eigennet: could not download ${EIGENNET_EIGEN_REQUIREMENT} with pip. "
                          "Install it (pip install '${EIGENNET_EIGEN_REQUIREMENT}') or pass "
                          "-DEIGENNET_EIGEN_PREFIX=<its cmeel.prefix folder>.")
    endif()
    list(GET _wheel 0 _wheel)
    file(ARCHIVE_EXTRACT INPUT "${_wheel}" DESTINATION "${_fetched}")
    find_package(Eigen3 3.4 CONFIG REQUIRED PATHS ${_hints} NO_DEFAULT_PATH)
  endif()
  message(STATUS "eigennet: Eigen ${Eigen3_VERSION} from ${Eigen3_DIR}")
endfunction()

# find_package for a test-only dependency from the system's own prefix, /usr/local ignored.
macro(eigennet_find_system_package name debian_package)
  set(_eigennet_saved_ignore "${CMAKE_IGNORE_PREFIX_PATH}")
  list(APPEND CMAKE_IGNORE_PREFIX_PATH /usr/local)
  find_package(${name} QUIET)
  set(CMAKE_IGNORE_PREFIX_PATH "${_eigennet_saved_ignore}")
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "eigennet: ${name} not found. On Debian or Ubuntu: "
                        "apt-get install ${debian_package} (bash tests/run.sh does it).")
  endif()
endmacro()
