# `cmake --install <build>` puts the public headers (include/mvdb/), the
# static libraries and a CMake package under the prefix, so that another
# project can write
#
#   find_package(mvdb REQUIRED)
#   target_link_libraries(app PRIVATE mvdb::mvdb)
#
# mvdb::mvdb stands for the whole engine: it links every layer that this
# build has. Only include/mvdb/ is public; the layers' own headers stay in
# the source tree. Included at the end of the top-level CMakeLists.txt, after
# every library is defined. cmake/consumer-check is the outside project that
# scripts/run-tests builds against an install.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Bottom-up; a layer that has no library yet is left out. New libraries
# are added to this list.
set(mvdb_layer_candidates mvdb_common mvdb_io mvdb_buffer mvdb_wal mvdb_btree mvdb_engine mvdb_mvcc mvdb_txn mvdb_db mvdb_sql)
set(mvdb_layers "")
foreach(lib IN LISTS mvdb_layer_candidates)
  if(TARGET ${lib})
    list(APPEND mvdb_layers ${lib})
    target_include_directories(${lib} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endif()
endforeach()

add_library(mvdb_all INTERFACE)
set_target_properties(mvdb_all PROPERTIES EXPORT_NAME mvdb)
target_link_libraries(mvdb_all INTERFACE ${mvdb_layers})
add_library(mvdb::mvdb ALIAS mvdb_all)

set(mvdb_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/mvdb)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mvdb DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS ${mvdb_layers} mvdb_all
  EXPORT mvdbTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT mvdbTargets NAMESPACE mvdb:: DESTINATION ${mvdb_cmake_dir})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/mvdbConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfig.cmake
  INSTALL_DESTINATION ${mvdb_cmake_dir})
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/mvdbConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/mvdbConfigVersion.cmake
  DESTINATION ${mvdb_cmake_dir})
