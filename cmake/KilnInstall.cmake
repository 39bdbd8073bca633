#===- cmake/KilnInstall.cmake - install rules and the CMake package -------===#
#
# Part of kiln. Included by the top-level CMakeLists.txt after every target
# exists. `cmake --install build [--prefix P]` lays out:
#
#   bin/kiln, bin/kiln-opt, bin/kiln-costmodel    (compiler on)
#   lib/libKilnDialect.so                          (compiler on; for plugins)
#   lib/libkiln_runtime.a, lib/libkiln_runtime.so* (runtime/CMakeLists.txt)
#   include/kiln/*.h                               runtime headers
#   include/kiln/compiler/dialects/Kiln/*.{h,td,inc}
#                                                  dialect headers for plugins
#   lib/cmake/kiln/kilnConfig.cmake ...            find_package(kiln)
#   lib/pkgconfig/kiln-runtime.pc                  (runtime/CMakeLists.txt)
#
# Everything is relocatable: the package finds itself from its own path, the
# .pc file from ${pcfiledir}, the tools their libraries through $ORIGIN.
#
#===----------------------------------------------------------------------===#
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KILN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kiln)
# Where a plugin's `#include "dialects/Kiln/KilnOps.h"` resolves.
set(KILN_INSTALL_COMPILER_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/kiln/compiler)

set(KILN_HAVE_TOOLS OFF)
set(KILN_HAVE_DIALECT OFF)
if(KILN_BUILD_COMPILER)
  set(_kiln_tools)
  foreach(tool kiln kiln-opt kiln-costmodel)
    if(TARGET ${tool})
      list(APPEND _kiln_tools ${tool})
    endif()
  endforeach()
  if(_kiln_tools)
    set(KILN_HAVE_TOOLS ON)
    # Imported as kiln::kiln, kiln::kiln-opt, ... (kiln_add_model runs
    # kiln::kiln).
    install(TARGETS ${_kiln_tools} EXPORT kilnToolTargets
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    install(EXPORT kilnToolTargets NAMESPACE kiln::
      DESTINATION ${KILN_INSTALL_CMAKEDIR} FILE kilnToolTargets.cmake)
  endif()

  if(TARGET KilnDialect)
    set(KILN_HAVE_DIALECT ON)
    set_target_properties(KilnDialect PROPERTIES EXPORT_NAME dialect)
    target_include_directories(KilnDialect INTERFACE
      $<INSTALL_INTERFACE:${KILN_INSTALL_COMPILER_INCLUDEDIR}>)
    install(TARGETS KilnDialect EXPORT kilnDialectTargets
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    install(EXPORT kilnDialectTargets NAMESPACE kiln::
      DESTINATION ${KILN_INSTALL_CMAKEDIR} FILE kilnDialectTargets.cmake)
    # Headers, the .td sources (for plugins with their own ODS) and the
    # generated .inc files the headers include.
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/dialects/Kiln/
      DESTINATION ${KILN_INSTALL_COMPILER_INCLUDEDIR}/dialects/Kiln
      FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
    install(DIRECTORY ${PROJECT_BINARY_DIR}/dialects/Kiln/
      DESTINATION ${KILN_INSTALL_COMPILER_INCLUDEDIR}/dialects/Kiln
      FILES_MATCHING PATTERN "*.h.inc"
      PATTERN "CMakeFiles" EXCLUDE)
  endif()
endif()

# The package. The runtime's targets file comes from runtime/CMakeLists.txt.
set(KILN_CONFIG_MLIR_DIR "")
set(KILN_CONFIG_LLVM_VERSION "")
if(KILN_BUILD_COMPILER)
  set(KILN_CONFIG_MLIR_DIR "${MLIR_DIR}")
  set(KILN_CONFIG_LLVM_VERSION "${LLVM_PACKAGE_VERSION}")
endif()
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/kilnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/kilnConfig.cmake
  INSTALL_DESTINATION ${KILN_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/kilnConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/cmake/kilnConfig.cmake
    ${PROJECT_BINARY_DIR}/cmake/kilnConfigVersion.cmake
    ${PROJECT_SOURCE_DIR}/cmake/KilnAddModel.cmake
  DESTINATION ${KILN_INSTALL_CMAKEDIR})
