// Remote SR's NATS settings: derived names and the check that nothing leaves loopback unauthenticated.
#include "ns/engine/nats_config.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "ns/core/error.h"
#include "ns/engine/admin.h"

namespace ns::engine {

namespace {

struct UrlParts {
  bool has_user = false;  // user[:password]@ or token@ in the URL
  std::string host;
};

// nats://[user[:password]@]host[:port]; tls:// and plain host:port too.
UrlParts split_url(std::string url) {
  UrlParts parts;
  if (const size_t scheme = url.find("://"); scheme != std::string::npos) url = url.substr(scheme + 3);
  if (const size_t at = url.rfind('@'); at != std::string::npos) {
    parts.has_user = at > 0;
    url = url.substr(at + 1);
  }
  if (!url.empty() && url.front() == '[') {  // [::1]:4222
    parts.host = url.substr(0, url.find(']') + 1);
  } else {
    parts.host = url.substr(0, url.find_first_of(":/"));
  }
  return parts;
}

}  // namespace

std::string jobs_stream_name(const NatsConfig& config) {
  std::string name = config.prefix;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name + "_SR_JOBS";
}
std::string jobs_subject(const NatsConfig& config) { return config.prefix + ".sr.jobs"; }
std::string results_subject(const NatsConfig& config, const std::string& instance) {
  return config.prefix + ".sr.results." + instance;
}
std::string workers_consumer_name(const NatsConfig& config) { return config.prefix + "-sr-workers"; }
std::string prepare_subject(const NatsConfig& config) { return config.prefix + ".sr.prepare"; }
std::string models_bucket_name(const NatsConfig& config) { return config.prefix + "-sr-models"; }

void validate(const NatsConfig& config) {
  auto bad = [](const std::string& what) { throw Error(ErrorCode::invalid_argument, "NATS config: " + what); };
  if (config.prefix.empty() || !std::all_of(config.prefix.begin(), config.prefix.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '-';
      })) {
    bad("prefix must be letters, digits, '_' or '-', got \"" + config.prefix + "\"");
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) bad("tls_cert and tls_key go together");
  if (!config.enabled()) return;
  const bool authenticated = !config.token_file.empty() || !config.creds_file.empty();
  std::stringstream urls(config.url);
  for (std::string url; std::getline(urls, url, ',');) {
    const UrlParts parts = split_url(url);
    if (parts.host.empty()) bad("no host in the URL \"" + url + "\"");
    if (!authenticated && !parts.has_user && !is_loopback_host(parts.host)) {
      bad("the server " + parts.host + " is not on this machine; give a token file, credentials or a user in the URL "
          "so that no job or model crosses the network unauthenticated");
    }
  }
}

}  // namespace ns::engine
