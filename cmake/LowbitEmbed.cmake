# lowbit_embed_text(OUT_HEADER NAMESPACE SYMBOL FILE...): turns text files (SQL migrations, the
# default recipe) into a generated header of raw string literals, so the engine runs without any
# data files installed beside it.
function(lowbit_embed_text out_header namespace symbol)
  set(files ${ARGN})
  # A shell would split the list at its ';': pass it with '|' between the files instead.
  string(REPLACE ";" "|" files_argument "${files}")
  add_custom_command(
    OUTPUT ${out_header}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_header} -DNAMESPACE=${namespace} -DSYMBOL=${symbol}
            "-DFILES=${files_argument}" -P ${PROJECT_SOURCE_DIR}/cmake/LowbitEmbedScript.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/LowbitEmbedScript.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
endfunction()
