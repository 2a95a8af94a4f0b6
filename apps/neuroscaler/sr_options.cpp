// Options shared by the subcommands that run SR.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "ns/sr/sr.h"

namespace ns::app {

CLI::Option* add_backend_option(CLI::App* cmd, std::string& backend, const std::string& note) {
  std::vector<std::string> backends = sr::backend_names();  // those compiled in
  backends.insert(backends.begin(), "auto");
  return cmd->add_option("--backend", backend, fmt::format("SR backend: {}{}", fmt::join(backends, " | "), note))
      ->check(CLI::IsMember(backends))
      ->capture_default_str();
}

}  // namespace ns::app
