# Finds libsentencepiece (Debian's libsentencepiece-dev ships a pkg-config file but no CMake
# config) and provides the imported target lowbit::sentencepiece. Falls back to a plain header and
# library search where pkg-config is not installed.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SENTENCEPIECE QUIET IMPORTED_TARGET sentencepiece)
endif()
add_library(lowbit::sentencepiece INTERFACE IMPORTED)
if(SENTENCEPIECE_FOUND)
  target_link_libraries(lowbit::sentencepiece INTERFACE PkgConfig::SENTENCEPIECE)
else()
  find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h REQUIRED)
  find_library(SENTENCEPIECE_LIBRARY sentencepiece REQUIRED)
  find_library(SENTENCEPIECE_TRAIN_LIBRARY sentencepiece_train REQUIRED)
  target_include_directories(lowbit::sentencepiece SYSTEM INTERFACE ${SENTENCEPIECE_INCLUDE_DIR})
  target_link_libraries(lowbit::sentencepiece INTERFACE ${SENTENCEPIECE_TRAIN_LIBRARY} ${SENTENCEPIECE_LIBRARY})
  set(SENTENCEPIECE_INCLUDE_DIRS ${SENTENCEPIECE_INCLUDE_DIR})
endif()
