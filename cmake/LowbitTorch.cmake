# Finds LibTorch. Any LibTorch works through Torch_DIR (the PyPI wheel's share/cmake/Torch, the CPU
# zip from pytorch.org, Debian's libtorch-dev). Without Torch_DIR we look in the set-up's cached
# virtual environment. LibTorch's flags are kept off our global flags: its include directories are
# added as SYSTEM by the imported target, so -Werror never trips on its headers.
if(NOT Torch_DIR AND NOT DEFINED ENV{Torch_DIR})
  set(_venv_python "$ENV{HOME}/.cache/lowbit/venv-torch-${LOWBIT_TORCH_VERSION_PINNED}/bin/python")
  if(EXISTS "${_venv_python}")
    execute_process(COMMAND "${_venv_python}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
                    OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
    if(_rc EQUAL 0)
      set(Torch_DIR "${_torch_prefix}/Torch" CACHE PATH "LibTorch CMake config" FORCE)
    endif()
  endif()
endif()
# The wheel's Caffe2 config looks for CUDA itself; point it at the toolkit nvcc we found.
if(LOWBIT_HAVE_CUDA AND NOT DEFINED CUDA_TOOLKIT_ROOT_DIR)
  get_filename_component(_cuda_bin "${CMAKE_CUDA_COMPILER}" DIRECTORY)
  get_filename_component(CUDA_TOOLKIT_ROOT_DIR "${_cuda_bin}" DIRECTORY)
endif()
# Without an explicit list, Caffe2's cuda.cmake compiles and runs a GPU probe, which fails on a
# machine without a GPU. We build no torch CUDA extensions, so the list only shapes its flags.
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "8.0;8.6;8.9;9.0")
endif()
find_package(Torch REQUIRED)
# TorchConfig appends its own flags to CMAKE_CXX_FLAGS; keep them (they carry the ABI define).
message(STATUS "Lowbit: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
