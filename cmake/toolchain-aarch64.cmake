# Cross build for AArch64 (NEON) with Debian's gcc-aarch64-linux-gnu; tests run under qemu.
#   cmake -S . -B build-neon -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# scripts/test_neon.sh does the whole configure, build and ctest.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# ctest (and CMake's try_run) run target programs through qemu user emulation. -L gives qemu the
# AArch64 sysroot of the cross toolchain (the dynamic loader and libc); libraries installed with
# Debian multiarch (zlib1g:arm64 ...) live in /usr/lib/aarch64-linux-gnu and are found there.
# QEMU_CPU=cortex-a53 in the environment turns off SVE and dotprod if wanted.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)

# Headers and libraries: the cross sysroot and the multiarch arm64 packages (/usr/lib/
# aarch64-linux-gnu via CMAKE_LIBRARY_ARCHITECTURE); programs (pkg-config, python) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must not hand out the host's x86-64 libraries
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
