# Sanitizers apply to the whole build (they must, for ASan's allocator to see every allocation).
# ASan and the CUDA driver conflict, so the asan preset turns CUDA off.
set(_lowbit_san "")
if(LOWBIT_SANITIZE_ADDRESS)
  list(APPEND _lowbit_san address)
endif()
if(LOWBIT_SANITIZE_UNDEFINED)
  list(APPEND _lowbit_san undefined)
endif()
if(_lowbit_san)
  list(JOIN _lowbit_san "," _lowbit_san_list)
  add_compile_options(-fsanitize=${_lowbit_san_list} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${_lowbit_san_list})
endif()
