# Precompiled headers for the heavy header-only libraries. CLI11 2.1 compiles its whole implementation in
# every file that includes it (~10 s of CPU each), nlohmann-json and fmt ~3 s, GoogleTest ~2 s: the test
# suite builds everything twice, so precompiling them once per library saves minutes. Off by default:
# a shared ccache cannot cache files that use a precompiled header unless it is told to be sloppy about
# them, and development builds are better served by the cache. The test preset turns it on.
option(VERSUS_PCH "Precompile the heavy header-only libraries (nlohmann-json, fmt, CLI11, GoogleTest)" OFF)

set(VERSUS_PCH_COMMON <nlohmann/json.hpp> <fmt/format.h> <algorithm> <filesystem> <map> <memory> <optional>
  <string> <string_view> <vector>)

# versus_precompile(target headers...): precompiles the headers for the target's C++ files.
function(versus_precompile target)
  if(VERSUS_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
