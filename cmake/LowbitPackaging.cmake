# Debian packages with CPack (docs/packaging.md): `lowbit-engine` (the `lowbit` CLI, the recipe
# presets, and the libraries the CLI needs that Debian does not provide, LibTorch and the CUDA
# libraries it was built with, installed privately in lib/lowbit) and `lowbit-studio` (the GUI,
# its desktop entry, icon and AppStream metadata; Debian's Qt, QCustomPlot and SQLite only).
# The studio's dependencies on Debian packages are computed by dpkg-shlibdeps from its binary.
if(LOWBIT_ENGINE)
  # A LibTorch outside the system folders goes along whole: its lib folder and, for the PyPI
  # wheel, the nvidia/*/lib folders beside it. Some of these libraries load others with dlopen
  # (cuDNN's engines, NVRTC's builtins, torch's CUDA linear algebra), which no dependency scan
  # sees, and the wheel's own libcudart is the CUDA runtime our kernels then share.
  if(TORCH_INSTALL_PREFIX AND EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch_cpu.so"
     AND NOT TORCH_INSTALL_PREFIX MATCHES "^/usr/(lib|lib64)/")
    file(GLOB _lowbit_torch_libraries "${TORCH_INSTALL_PREFIX}/lib/*.so*"
         "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib/*.so*")
    install(FILES ${_lowbit_torch_libraries} DESTINATION ${CMAKE_INSTALL_LIBDIR}/lowbit
            COMPONENT engine)
    # A CUDA build against a LibTorch without its own CUDA runtime takes the toolkit's.
    list(FILTER _lowbit_torch_libraries INCLUDE REGEX "/libcudart\\.so")
    if(LOWBIT_HAVE_CUDA AND NOT _lowbit_torch_libraries)
      install(IMPORTED_RUNTIME_ARTIFACTS CUDA::cudart LIBRARY
              DESTINATION ${CMAKE_INSTALL_LIBDIR}/lowbit COMPONENT engine)
    endif()
  endif()
endif()

set(CPACK_PACKAGE_NAME lowbit)
set(CPACK_PACKAGE_VENDOR "Lowbit Studio")
set(CPACK_PACKAGE_CONTACT "Lowbit Studio developers <lowbit@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Several GB of CUDA libraries: zstd (dpkg reads it since Debian 12) packs them far faster than xz.
set(CPACK_DEBIAN_COMPRESSION_TYPE zstd)

set(CPACK_DEBIAN_ENGINE_PACKAGE_NAME lowbit-engine)
# The engine's Debian dependencies are named here rather than scanned: dpkg-shlibdeps would also
# scan the carried CUDA plugins, some of which need libraries only a cluster has (UCX, RDMA) and
# are loaded only where those exist. These are the libraries `lowbit` itself links (ldd lists
# no others outside lib/lowbit; packaging/check-debs.sh checks that every one resolves).
set(CPACK_DEBIAN_ENGINE_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_ENGINE_PACKAGE_DEPENDS
    "libc6, libgcc-s1, libstdc++6, libsqlite3-0, libyaml-cpp0.7, libhwy1, libsentencepiece0")
set(CPACK_DEBIAN_ENGINE_DESCRIPTION
    "Lowbit Studio's headless engine: quantized pretraining and EfficientQAT
lowbit trains GPT-2 and Llama-style language models from YAML recipes with weights,
activations, gradients and Adam states quantized per tensor type, runs EfficientQAT, trains
data-parallel on PyTorch's c10d, and records every run in a SQLite workspace. It carries its
own LibTorch in /usr/lib/lowbit.")
set(CPACK_DEBIAN_STUDIO_PACKAGE_NAME lowbit-studio)
set(CPACK_DEBIAN_STUDIO_PACKAGE_RECOMMENDS lowbit-engine)
set(CPACK_DEBIAN_STUDIO_DESCRIPTION
    "Lowbit Studio: desktop workbench for low-bit training of language models
Lowbit Studio configures bit-widths per tensor type, launches and stops lowbit runs, shows
live loss curves and quantization histograms, and compares and diagnoses runs side by side.
It needs no LibTorch; install lowbit-engine to launch runs.")
set(CPACK_COMPONENTS_ALL engine studio)
include(CPack)
