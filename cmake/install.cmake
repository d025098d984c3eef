# `cmake --install BUILD_DIR [--prefix DIR]`: the library as a package (docs/clients.md,
# "C++ library"). Installs
#   include/prom/*.hpp                  the public headers, and nothing of src/
#   lib/libprom.a, lib/libprom_server.a  the library (prom::core) and the server with the dev
#                                        harness (prom::server, which prom/harness.hpp needs)
#   lib/cmake/prom/                      find_package(prom CONFIG REQUIRED) → target prom::prom
#   lib/pkgconfig/prom.pc                pkg-config --cflags --libs prom
#   bin/prom                             the command-line tool
# The libraries are static, so their private dependencies (SQLite, libpq, xxHash, Lua,
# spdlog) are link dependencies of every program that uses them: promConfig.cmake finds
# them again, prom.pc lists them under Requires.
include(CMakePackageConfigHelpers)

# prom::prom: everything a program that includes include/prom/ may need to link.
add_library(prom_package INTERFACE)
set_target_properties(prom_package PROPERTIES EXPORT_NAME prom)
target_link_libraries(prom_package INTERFACE prom_lib prom_server)
add_library(prom::prom ALIAS prom_package)

install(TARGETS prom_lib prom_server prom_package EXPORT promTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/prom DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(TARGETS prom RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(prom_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/prom)
install(EXPORT promTargets NAMESPACE prom:: DESTINATION ${prom_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/promConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/promConfig.cmake INSTALL_DESTINATION ${prom_cmake_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/promConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/promConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/promConfigVersion.cmake DESTINATION ${prom_cmake_dir})

# prom.pc takes the prefix from where it is installed (pcfiledir), so the files stay
# relocatable like the CMake package.
file(RELATIVE_PATH prom_pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${CMAKE_CURRENT_LIST_DIR}/prom.pc.in ${CMAKE_CURRENT_BINARY_DIR}/prom.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/prom.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
