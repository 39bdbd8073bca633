#===- StrippedSize.cmake - print the stripped size of a library ----------===#
#
# cmake -DLIB=<lib.a> -DOUT=<copy> -DSTRIP=<strip> -P StrippedSize.cmake
# Strips a copy (the real library keeps its symbols for debugging).
#
#===----------------------------------------------------------------------===#
file(COPY_FILE "${LIB}" "${OUT}")
if(STRIP)
  execute_process(COMMAND "${STRIP}" --strip-unneeded "${OUT}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(WARNING "kiln runtime: '${STRIP} --strip-unneeded' failed (${rc})")
  endif()
else()
  message(WARNING "kiln runtime: no strip tool found, size is unstripped")
endif()
file(SIZE "${OUT}" size)
message("kiln runtime: static library stripped size ${size} bytes")
