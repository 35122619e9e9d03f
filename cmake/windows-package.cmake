# The Windows zip (included by the root CMakeLists.txt in the Windows build):
#   cmake --build --preset windows --target package
# -> build/windows/udisc-<version>-windows-x64.zip: udisc.exe, README.md and
# the Windows documentation in docs/. Every .md present in docs/ whose name
# starts with "windows" goes in, so pages added later (docs/windows.md from
# the service work) are packed without editing this file.
install(TARGETS udisc RUNTIME DESTINATION .)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION .)
file(GLOB _windows_docs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/windows*.md)
install(FILES ${_windows_docs} DESTINATION docs)
set(CPACK_GENERATOR ZIP)
set(CPACK_PACKAGE_NAME udisc)
set(CPACK_PACKAGE_FILE_NAME udisc-${PROJECT_VERSION}-windows-x64)
set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
include(CPack)
