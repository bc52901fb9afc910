# Writes a C++ source defining `std::string_view <SYMBOL>()` that returns the text of
# INPUT, so a file of the source tree is part of the program and nothing is read at
# run time. Run at build time:
#   cmake -DINPUT=file -DOUTPUT=file.cc -DSYMBOL=orb::api::Name -P embed_text.cmake
# The text goes into a raw string literal; its delimiter must not occur in the text.
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_text.cmake: ${var} is not set")
  endif()
endforeach()
file(READ "${INPUT}" text)
set(delimiter "orb_embedded")
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')${delimiter}\"', which ends the raw string literal")
endif()
string(REGEX MATCH "^(.*)::([^:]+)$" _ "${SYMBOL}")
set(namespace "${CMAKE_MATCH_1}")
set(name "${CMAKE_MATCH_2}")
if(namespace STREQUAL "" OR name STREQUAL "")
  message(FATAL_ERROR "embed_text.cmake: SYMBOL must be namespace::name, not ${SYMBOL}")
endif()
get_filename_component(source_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
"// Generated at build time from ${source_name} by cmake/embed_text.cmake: do not edit.
#include <string_view>

namespace ${namespace} {

std::string_view ${name}() {
  static constexpr std::string_view kText = R\"${delimiter}(${text})${delimiter}\";
  return kText;
}

}  // namespace ${namespace}
")
# Rewritten only when it changed, so an unchanged document compiles nothing.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
