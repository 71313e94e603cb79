# cmake -DSOURCE_DIR=... -DBINARY_DIR=... [-DBUILD_TYPE=...] [-DLAUNCHER=ccache] -P makefiles_build.cmake
#
# Configures SOURCE_DIR with the Unix Makefiles generator into BINARY_DIR,
# builds every BPF skeleton and the libraries and executable that include
# them from other directories, checks the results, and removes BINARY_DIR
# whatever happened (it is large, and a stale tree would hide a regression).

if(NOT SOURCE_DIR OR NOT BINARY_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repo> -DBINARY_DIR=<scratch dir> -P makefiles_build.cmake")
endif()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE RelWithDebInfo)
endif()

# Targets whose sources include a skeleton made in bpf/ or sim/bpf/: the
# missing cross-directory rule ("No rule to make target 'bpfgen/vmlinux.h'")
# showed up exactly here. reflex-guard links one of them end to end.
set(targets bpf_skeletons reflex_guard reflex_monitor reflex_shaping reflex-guard)

cmake_host_system_information(RESULT ncpu QUERY NUMBER_OF_LOGICAL_CORES)
file(REMOVE_RECURSE ${BINARY_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    file(REMOVE_RECURSE ${BINARY_DIR})
    string(LENGTH "${out}" n)
    if(n GREATER 6000)
      math(EXPR from "${n} - 6000")
      string(SUBSTRING "${out}" ${from} -1 out)
    endif()
    message(FATAL_ERROR "Unix Makefiles: ${what} failed (${rc}):\n${out}")
  endif()
endfunction()

set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER} -DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run("configure" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G "Unix Makefiles"
    -DCMAKE_BUILD_TYPE=${BUILD_TYPE} ${launcher})
run("build of ${targets}" ${CMAKE_COMMAND} --build ${BINARY_DIR} -j${ncpu} --target ${targets})

file(GLOB skeletons ${BINARY_DIR}/bpfgen/*.skel.h)
file(GLOB sources ${SOURCE_DIR}/bpf/*.bpf.c ${SOURCE_DIR}/sim/bpf/*.bpf.c)
list(LENGTH skeletons nskel)
list(LENGTH sources nsrc)
if(NOT nskel EQUAL nsrc)
  file(REMOVE_RECURSE ${BINARY_DIR})
  message(FATAL_ERROR "Unix Makefiles: ${nskel} skeletons for ${nsrc} BPF sources: a bpf_object is not in bpf_skeletons")
endif()
run("reflex-guard --help" ${BINARY_DIR}/cmd/reflex-guard/reflex-guard --help)

file(REMOVE_RECURSE ${BINARY_DIR})
message(STATUS "Unix Makefiles built ${nskel} skeletons and ${targets}")
