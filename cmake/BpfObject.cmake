# bpf_object(NAME SOURCE [HEADERS ...])
#
# Compiles bpf/<SOURCE> with clang -target bpf (CO-RE, against a vmlinux.h
# dumped from the build machine's kernel BTF) and turns the object into a
# libbpf skeleton header with `bpftool gen skeleton`. The ELF is embedded in
# the skeleton, so nothing reads a .o path at run time. Produces an INTERFACE
# target NAME_skel that puts the skeleton and the *_kern_user.h headers on the
# include path.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(REFLEX_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "kernel BTF used to generate vmlinux.h")

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpfgen)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

add_custom_command(
  OUTPUT ${BPF_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${REFLEX_VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${BPF_GEN_DIR}/vmlinux.h.tmp ${BPF_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${REFLEX_VMLINUX_BTF}"
  VERBATIM)
add_custom_target(vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

function(bpf_object name source)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  file(GLOB bpf_headers ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror -Wno-unused-function
            -I${BPF_GEN_DIR} -I${CMAKE_CURRENT_SOURCE_DIR}
            -c ${src} -o ${obj}
    # The target, not the file: with the Makefile generator a file made by a
    # custom command in another target has no rule here, and listing it would
    # copy its command into every skeleton target (racing on the same file).
    DEPENDS ${src} ${bpf_headers} vmlinux_h
    COMMENT "BPF ${source}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  # One target builds every skeleton (bpf_skeletons, defined at the top level
  # once every directory has declared its objects).
  set_property(GLOBAL APPEND PROPERTY REFLEX_BPF_SKELETON_TARGETS ${name}_skel_gen)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
