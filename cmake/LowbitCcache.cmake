# Uses ccache for C, C++ and CUDA when it is installed: rebuilds in CI and on a clean clone are
# cheap because LibTorch headers dominate compile time. CI builds a fresh clone in another
# folder each time, so paths below the source root are made relative (CCACHE_BASEDIR) and the
# working directory is left out of the hash (CCACHE_NOHASHDIR): a clone's compiles then hit the
# cache that earlier clones filled. (Debug info names the folder of the clone that compiled
# first; targets that bake absolute paths into their defines, the tests, still miss.)
find_program(LOWBIT_CCACHE ccache)
if(LOWBIT_CCACHE)
  set(lowbit_ccache_launcher
      ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} CCACHE_NOHASHDIR=1
      ${LOWBIT_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${lowbit_ccache_launcher})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${lowbit_ccache_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${lowbit_ccache_launcher})
endif()
