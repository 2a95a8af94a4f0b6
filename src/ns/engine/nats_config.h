// ns/engine: where remote SR's NATS server is and how to reach it (docs/scale-out.md). Shared by `serve` (the
// engine's "sr" config) and `neuroscaler sr-worker`.
// Names: the JetStream stream <PREFIX>_SR_JOBS holds the jobs on subject <prefix>.sr.jobs, pulled by the durable
// consumer <prefix>-sr-workers; results go to <prefix>.sr.results.<instance>; models live in the key-value bucket
// <prefix>-sr-models; <prefix>.sr.prepare tells every worker which model a new stream will need.
// Thread-safety: values. Errors: validate() throws ns::Error invalid_argument naming the field.
#pragma once

#include <string>

namespace ns::engine {

struct NatsConfig {
  std::string url;         // nats://host:port (several servers: comma-separated); empty: SR runs in-process
  std::string token_file;  // a file holding the server's auth token
  std::string creds_file;  // NATS credentials (user JWT and seed), e.g. from nsc
  std::string tls_ca;      // TLS: the CA to trust (tls:// URLs, or any URL when set)
  std::string tls_cert;    // TLS client certificate and its key (both or neither)
  std::string tls_key;
  std::string prefix = "ns";  // of every subject, stream, consumer and bucket name: several deployments, one server

  bool enabled() const { return !url.empty(); }
};

// Names derived from the prefix.
std::string jobs_stream_name(const NatsConfig& config);
std::string jobs_subject(const NatsConfig& config);
std::string results_subject(const NatsConfig& config, const std::string& instance);
std::string workers_consumer_name(const NatsConfig& config);
std::string prepare_subject(const NatsConfig& config);
std::string models_bucket_name(const NatsConfig& config);

// Refuses what would send jobs or models off this machine unauthenticated: a URL whose host is not loopback needs a
// token, credentials or a user in the URL. Also checks the prefix (letters, digits, '_' and '-') and the TLS pair.
void validate(const NatsConfig& config);

}  // namespace ns::engine
