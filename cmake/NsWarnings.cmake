# Warning flags for our own targets (not for third-party headers, which come in as SYSTEM).
function(ns_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wno-missing-field-initializers $<$<BOOL:${NS_WERROR}>:-Werror>)
endfunction()
