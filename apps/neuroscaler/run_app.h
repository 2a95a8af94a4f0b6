// The one place the programs (neuroscaler, neuroscaler-train) turn failures into output: parses the command
// line, runs the chosen callback, and prints an ns::Error or any other failure as one line; exit status 1.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "ns/core/error.h"

namespace ns::app {

// `program` starts each error line ("neuroscaler", "neuroscaler train").
inline int run_app(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected failure: %s\n", program, e.what());
    return 1;
  }
  return 0;
}

}  // namespace ns::app
