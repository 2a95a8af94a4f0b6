// Options shared by the subcommands that run SR or listen.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.h"
#include "ns/core/error.h"
#include "ns/sr/sr.h"

namespace ns::app {

CLI::Option* add_backend_option(CLI::App* cmd, std::string& backend, const std::string& note) {
  std::vector<std::string> backends = sr::backend_names();  // those compiled in
  backends.insert(backends.begin(), "auto");
  return cmd->add_option("--backend", backend, fmt::format("SR backend: {}{}", fmt::join(backends, " | "), note))
      ->check(CLI::IsMember(backends))
      ->capture_default_str();
}

HostPort parse_host_port(const std::string& text, const std::string& option) {
  const size_t colon = text.rfind(':');
  int port = -1;
  try {
    port = colon == std::string::npos ? -1 : std::stoi(text.substr(colon + 1));
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535 || colon == 0) {
    throw Error(ErrorCode::invalid_argument, option + " " + text + " is not HOST:PORT; e.g. 127.0.0.1:8080");
  }
  return {text.substr(0, colon), port};
}

}  // namespace ns::app
