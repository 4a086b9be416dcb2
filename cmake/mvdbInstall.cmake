# `cmake --install <build>` puts under the prefix, in two components:
#
#   library  include/mvdb/ (the public headers), lib/libmvdb.a,
#            lib/libmvdb.so* (cmake/mvdbLibrary.cmake), the CMake package
#            lib/cmake/mvdb/ and lib/pkgconfig/mvdb.pc;
#   shell    bin/mvdb (shell/CMakeLists.txt).
#
# `cmake --install <build> --component library` needs only the two
# libraries built (a build with MVDB_BUILD_SHELL=OFF has nothing else).
# Another project then writes
#
#   find_package(mvdb REQUIRED)
#   target_link_libraries(app PRIVATE mvdb::mvdb)   # or mvdb::mvdb_static
#
# or `c++ app.cc $(pkg-config --cflags --libs mvdb)`, with nothing but a
# C++ compiler (and CMake or pkg-config) and the prefix: the headers use
# only the standard library, and the package asks for nothing else.
# scripts/run-tests (stage install) builds examples/ and tests/install/
# those three ways against a library-only install. Included at the end of
# the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(mvdb_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/mvdb)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mvdb DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT library)
install(TARGETS mvdb_static mvdb_shared
  EXPORT mvdbTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT library)
install(EXPORT mvdbTargets NAMESPACE mvdb:: DESTINATION ${mvdb_cmake_dir} COMPONENT library)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/mvdbConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfig.cmake
  INSTALL_DESTINATION ${mvdb_cmake_dir})
# 0.x: a new minor version may break the API (as the SONAME says).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(mvdb_compatibility SameMinorVersion)
else()
  set(mvdb_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mvdbConfigVersion.cmake
  COMPATIBILITY ${mvdb_compatibility})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfigVersion.cmake
  DESTINATION ${mvdb_cmake_dir} COMPONENT library)

# mvdb.pc finds the prefix from its own place (${pcfiledir}), so it stays
# right for `cmake --install --prefix` and for a prefix moved elsewhere.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "mvdb.pc needs CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_INCLUDEDIR relative")
endif()
file(RELATIVE_PATH mvdb_pc_to_prefix /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/mvdb.pc.in ${CMAKE_CURRENT_BINARY_DIR}/mvdb.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mvdb.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT library)
