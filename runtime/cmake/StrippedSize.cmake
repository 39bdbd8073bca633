#===- StrippedSize.cmake - print the stripped size of a library ----------===#
#
# cmake -DLIB=<lib.a> -DOUT=<copy> -DSTRIP=<strip> [-DMAX_BYTES=<n>]
#       -P StrippedSize.cmake
# Strips a copy (the real library keeps its symbols for debugging) and
# prints its size. With MAX_BYTES (the runtime_size test), fails when the
# stripped copy is larger, or when it cannot be stripped.
#
#===----------------------------------------------------------------------===#
file(COPY_FILE "${LIB}" "${OUT}")
set(stripped FALSE)
if(STRIP)
  execute_process(COMMAND "${STRIP}" --strip-unneeded "${OUT}"
    RESULT_VARIABLE rc)
  if(rc EQUAL 0)
    set(stripped TRUE)
  else()
    message(WARNING "kiln runtime: '${STRIP} --strip-unneeded' failed (${rc})")
  endif()
else()
  message(WARNING "kiln runtime: no strip tool found, size is unstripped")
endif()
file(SIZE "${OUT}" size)
math(EXPR kib "(${size} + 1023) / 1024")
message("kiln runtime: static library stripped size ${size} bytes (${kib} KiB)")
if(DEFINED MAX_BYTES AND NOT MAX_BYTES STREQUAL "")
  if(NOT stripped)
    message(FATAL_ERROR "kiln runtime: cannot check the size budget "
      "without stripping")
  endif()
  if(size GREATER MAX_BYTES)
    message(FATAL_ERROR "kiln runtime: stripped size ${size} bytes is over "
      "the budget of ${MAX_BYTES} bytes")
  endif()
  message("kiln runtime: within the budget of ${MAX_BYTES} bytes")
endif()
