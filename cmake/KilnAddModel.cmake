#===- KilnAddModel.cmake - compile an ONNX model at build time ------------===#
#
# Part of kiln; installed with the package (find_package(kiln)).
#
#   kiln_add_model(<target> <model.onnx>
#                  [NAME <name>]               symbol prefix (<name>_run, ...);
#                                              default: the model's file stem
#                  [OUTPUT_DIRECTORY <dir>]    default:
#                                              ${CMAKE_CURRENT_BINARY_DIR}/kiln/<name>
#                  [OPTIONS <arg>...])         more `kiln compile` arguments
#
# Adds a build step that runs `kiln compile <model> -o <dir>/<name>.o --name
# <name> <OPTIONS>` (again whenever the model or kiln changes), links
# <name>.o into <target>, puts <dir> (holding <name>.h) on its include path
# and links kiln::runtime. Call it from the directory that defines <target>.
# Sets <name>_KILN_OBJECT and <name>_KILN_HEADER in the caller's scope.
#
#===----------------------------------------------------------------------===#
include_guard(GLOBAL)

function(kiln_add_model target model)
  cmake_parse_arguments(PARSE_ARGV 2 ARG "" "NAME;OUTPUT_DIRECTORY" "OPTIONS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
      "kiln_add_model: unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "kiln_add_model: '${target}' is not a target")
  endif()
  if(NOT TARGET kiln::kiln)
    message(FATAL_ERROR
      "kiln_add_model: this kiln package has no compiler (kiln::kiln); "
      "install kiln built with KILN_BUILD_COMPILER=ON")
  endif()

  get_filename_component(model "${model}" ABSOLUTE
    BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(ARG_NAME)
    set(name "${ARG_NAME}")
  else()
    get_filename_component(name "${model}" NAME_WE)
    string(MAKE_C_IDENTIFIER "${name}" name)
  endif()
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR
      "kiln_add_model: NAME '${name}' is not a C identifier")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    get_filename_component(dir "${ARG_OUTPUT_DIRECTORY}" ABSOLUTE
      BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  else()
    set(dir "${CMAKE_CURRENT_BINARY_DIR}/kiln/${name}")
  endif()
  set(object "${dir}/${name}.o")
  set(header "${dir}/${name}.h")

  file(MAKE_DIRECTORY "${dir}")
  add_custom_command(
    OUTPUT "${object}" "${header}"
    COMMAND kiln::kiln compile "${model}" -o "${object}" --name "${name}"
            ${ARG_OPTIONS}
    DEPENDS "${model}" "$<TARGET_FILE:kiln::kiln>"
    COMMENT "kiln: compiling ${model} (${name})"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES
    EXTERNAL_OBJECT TRUE GENERATED TRUE)
  target_sources(${target} PRIVATE "${object}" "${header}")
  target_include_directories(${target} PRIVATE "${dir}")
  target_link_libraries(${target} PRIVATE kiln::runtime)
  set(${name}_KILN_OBJECT "${object}" PARENT_SCOPE)
  set(${name}_KILN_HEADER "${header}" PARENT_SCOPE)
endfunction()
