# Uses ccache for C, C++ and CUDA when it is installed: rebuilds in CI and on a clean clone are
# cheap because LibTorch headers dominate compile time.
find_program(LOWBIT_CCACHE ccache)
if(LOWBIT_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER ${LOWBIT_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${LOWBIT_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${LOWBIT_CCACHE})
endif()
