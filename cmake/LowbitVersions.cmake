# Reads the pinned versions from packaging/versions.env (the single place they are written) so the
# build info recorded with every run names the LibTorch the project expects.
file(STRINGS ${PROJECT_SOURCE_DIR}/packaging/versions.env _lowbit_versions REGEX "^LOWBIT_[A-Z_]+=")
foreach(line IN LISTS _lowbit_versions)
  string(REGEX MATCH "^([A-Z_]+)=(.*)$" _ "${line}")
  set(${CMAKE_MATCH_1}_PINNED "${CMAKE_MATCH_2}")
endforeach()
# The Python interpreter of the set-up's virtual environment, used by the interop tests
# (transformers) and the quantizer cross-checks (PyTorch). Empty when not found.
set(LOWBIT_PYTHON "" CACHE FILEPATH "Python with torch and transformers for cross-check tests")
if(NOT LOWBIT_PYTHON)
  set(_venv "$ENV{HOME}/.cache/lowbit/venv-torch-${LOWBIT_TORCH_VERSION_PINNED}/bin/python")
  if(EXISTS "${_venv}")
    set(LOWBIT_PYTHON "${_venv}" CACHE FILEPATH "" FORCE)
  endif()
endif()
