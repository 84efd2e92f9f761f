# lowbit_set_warnings(target): strict warnings for our own code only. Third-party headers come in
# as SYSTEM include directories, so their warnings never block the build.
function(lowbit_set_warnings target)
  set(cxx_flags -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wmissing-declarations
                -Wimplicit-fallthrough)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${cxx_flags}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra -Werror=all-warnings>)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 (the release and package builds) reports -Wrestrict inside libstdc++ for
    # plain std::string concatenation such as ":" + std::to_string(line): a false positive of that
    # compiler version, fixed in GCC 13, which would stop the release build under -Werror.
    target_compile_options(${target} PRIVATE
      $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:Release>>:-Wno-restrict>)
  endif()
  if(LOWBIT_FATAL_WARNINGS)
    set_target_properties(${target} PROPERTIES COMPILE_WARNING_AS_ERROR ON)
  endif()
endfunction()
