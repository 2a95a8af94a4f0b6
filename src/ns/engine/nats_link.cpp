// One NATS connection for remote SR: options from NatsConfig, the jobs stream and the chunked models bucket.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/core/log.h"
#include "ns/engine/nats_impl.h"

namespace ns::engine::detail {

namespace {

constexpr const char* kLogger = "nats";
constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kJobMaxAgeMs = 60 * 1000;  // a job is useless long before this; the stream forgets it then


std::string read_token(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error(ErrorCode::not_found, "NATS: cannot read the token file; check the path", {.file = path});
  std::string token;
  std::getline(file, token);
  if (token.empty()) throw Error(ErrorCode::invalid_argument, "NATS: the token file is empty", {.file = path});
  return token;
}

struct OptionsFree {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
struct KvEntryFree {
  void operator()(kvEntry* e) const { kvEntry_Destroy(e); }
};

std::string chunk_key(const std::string& hash, size_t index) { return hash + "." + std::to_string(index); }

}  // namespace

// libnats calls these on its own thread, the closed one last, also after natsConnection_Close: the destructor waits for
// it, so that none runs on a destroyed link.
void NatsLink::on_disconnected(natsConnection*, void* self) {
  auto* link = static_cast<NatsLink*>(self);
  std::lock_guard lock(link->close_mutex_);
  if (!link->closing_) log::warn(kLogger, "{}: disconnected from the NATS server; reconnecting", link->client_);
}
void NatsLink::on_connected(natsConnection*, void* self) {
  log::info(kLogger, "{}: connected to the NATS server", static_cast<NatsLink*>(self)->client_);
}
void NatsLink::on_reconnected(natsConnection*, void* self) {
  log::info(kLogger, "{}: reconnected to the NATS server", static_cast<NatsLink*>(self)->client_);
}
void NatsLink::on_closed(natsConnection*, void* self) {
  auto* link = static_cast<NatsLink*>(self);
  std::lock_guard lock(link->close_mutex_);
  link->closed_ = true;
  link->closed_cv_.notify_all();
}

void check_nats(natsStatus status, const std::string& what) {
  if (status == NATS_OK) return;
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  std::string message = what + ": " + natsStatus_GetText(status);
  if (detail && *detail) message += std::string(" (") + detail + ")";
  throw Error(ErrorCode::io, message);
}

NatsLink::NatsLink(const NatsConfig& config, const std::string& client) : config_(config), client_(client) {
  validate(config_);
  natsOptions* raw = nullptr;
  check_nats(natsOptions_Create(&raw), "NATS: creating options");
  std::unique_ptr<natsOptions, OptionsFree> options(raw);
  std::vector<std::string> urls;
  std::stringstream list(config_.url);
  for (std::string url; std::getline(list, url, ',');) urls.push_back(url);
  std::vector<const char*> servers;
  for (const std::string& url : urls) servers.push_back(url.c_str());
  check_nats(natsOptions_SetServers(options.get(), servers.data(), static_cast<int>(servers.size())),
             "NATS: server URL " + config_.url);
  check_nats(natsOptions_SetName(options.get(), client.c_str()), "NATS: client name");
  if (!config_.token_file.empty()) {
    check_nats(natsOptions_SetToken(options.get(), read_token(config_.token_file).c_str()), "NATS: token");
  }
  if (!config_.creds_file.empty()) {
    check_nats(natsOptions_SetUserCredentialsFromFiles(options.get(), config_.creds_file.c_str(), nullptr),
               "NATS: credentials " + config_.creds_file);
  }
  if (!config_.tls_ca.empty()) {
    check_nats(natsOptions_SetSecure(options.get(), true), "NATS: TLS");
    check_nats(natsOptions_LoadCATrustedCertificates(options.get(), config_.tls_ca.c_str()),
               "NATS: TLS CA " + config_.tls_ca);
  }
  if (!config_.tls_cert.empty()) {
    check_nats(natsOptions_LoadCertificatesChain(options.get(), config_.tls_cert.c_str(), config_.tls_key.c_str()),
               "NATS: TLS certificate " + config_.tls_cert);
  }
  // Reconnect forever, quickly: a server restart must cost a stream no more than the anchors of those seconds.
  check_nats(natsOptions_SetMaxReconnect(options.get(), -1), "NATS: reconnect");
  check_nats(natsOptions_SetReconnectWait(options.get(), 250), "NATS: reconnect wait");
  check_nats(natsOptions_SetReconnectBufSize(options.get(), 8 * 1024 * 1024), "NATS: reconnect buffer");
  // With a callback the first connection is retried in the background (without one, Connect() would block for as
  // many attempts as MaxReconnect: forever).
  check_nats(natsOptions_SetRetryOnFailedConnect(options.get(), true, on_connected, this), "NATS: retry");
  check_nats(natsOptions_SetDisconnectedCB(options.get(), on_disconnected, this), "NATS: callbacks");
  check_nats(natsOptions_SetReconnectedCB(options.get(), on_reconnected, this), "NATS: callbacks");
  check_nats(natsOptions_SetClosedCB(options.get(), on_closed, this), "NATS: callbacks");
  const natsStatus status = natsConnection_Connect(&connection_, options.get());
  if (status == NATS_NOT_YET_CONNECTED) {
    log::warn(kLogger, "{}: the NATS server at {} does not answer yet; connecting in the background", client,
              config_.url);
  } else {
    check_nats(status, "NATS: connecting to " + config_.url);
  }
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = 2000;
  if (const natsStatus js = natsConnection_JetStream(&jetstream_, connection_, &js_options); js != NATS_OK) {
    natsConnection_Destroy(connection_);  // not connected yet or failing: no callback is due (best effort)
    check_nats(js, "NATS: JetStream context");
  }
}

NatsLink::~NatsLink() {
  if (bucket_) kvStore_Destroy(bucket_);
  jsCtx_Destroy(jetstream_);
  {
    std::lock_guard lock(close_mutex_);
    closing_ = true;
  }
  natsConnection_Close(connection_);  // pending messages are flushed first
  std::unique_lock lock(close_mutex_);
  closed_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_; });
  lock.unlock();
  natsConnection_Destroy(connection_);
}

bool NatsLink::connected() const { return natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED; }

size_t NatsLink::max_message_bytes() const {
  const int64_t max = natsConnection_GetMaxPayload(connection_);
  return max > 0 ? static_cast<size_t>(max) : 1024 * 1024;
}

void NatsLink::ensure_jobs_stream() {
  const std::string name = jobs_stream_name(config_);
  jsStreamInfo* info = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  if (js_GetStreamInfo(&info, jetstream_, name.c_str(), nullptr, &code) == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return;
  }
  const std::string subject = jobs_subject(config_);
  const char* subjects[] = {subject.c_str()};
  jsStreamConfig stream;
  jsStreamConfig_Init(&stream);
  stream.Name = name.c_str();
  stream.Subjects = subjects;
  stream.SubjectsLen = 1;
  stream.Retention = js_WorkQueuePolicy;
  stream.Storage = js_FileStorage;
  stream.MaxAge = kJobMaxAgeMs * kNsPerMs;
  const natsStatus status = js_AddStream(&info, jetstream_, &stream, nullptr, &code);
  if (status == NATS_OK) jsStreamInfo_Destroy(info);
  // Another instance may have created it between our two calls.
  if (status != NATS_OK && js_GetStreamInfo(&info, jetstream_, name.c_str(), nullptr, &code) == NATS_OK) {
    jsStreamInfo_Destroy(info);
    return;
  }
  check_nats(status, "NATS: creating the jobs stream " + name);
}

kvStore* NatsLink::bucket() {
  std::lock_guard lock(bucket_mutex_);
  if (bucket_) return bucket_;
  const std::string name = models_bucket_name(config_);
  if (js_KeyValue(&bucket_, jetstream_, name.c_str()) == NATS_OK) return bucket_;
  kvConfig kv;
  kvConfig_Init(&kv);
  kv.Bucket = name.c_str();
  kv.History = 1;
  kv.StorageType = js_FileStorage;
  const natsStatus status = js_CreateKeyValue(&bucket_, jetstream_, &kv);
  if (status != NATS_OK && js_KeyValue(&bucket_, jetstream_, name.c_str()) == NATS_OK) return bucket_;
  check_nats(status, "NATS: creating the models bucket " + name);
  return bucket_;
}

void NatsLink::put_model(const std::string& hash, const std::vector<uint8_t>& bytes) {
  kvStore* kv = bucket();
  const size_t slice = max_message_bytes() - 4096;  // room for the message's headers
  size_t chunks = 0;
  for (size_t at = 0; at < bytes.size(); at += slice, ++chunks) {
    const size_t size = std::min(slice, bytes.size() - at);
    check_nats(kvStore_Put(nullptr, kv, chunk_key(hash, chunks).c_str(), bytes.data() + at, static_cast<int>(size)),
               "NATS: storing model " + hash);
  }
  const std::string index = nlohmann::json{{"bytes", bytes.size()}, {"chunks", chunks}}.dump();
  check_nats(kvStore_PutString(nullptr, kv, hash.c_str(), index.c_str()), "NATS: storing model " + hash);
}

bool NatsLink::has_model(const std::string& hash) {
  kvEntry* entry = nullptr;
  const natsStatus status = kvStore_Get(&entry, bucket(), hash.c_str());
  if (status == NATS_NOT_FOUND) return false;
  check_nats(status, "NATS: looking up model " + hash);
  kvEntry_Destroy(entry);
  return true;
}

std::optional<std::vector<uint8_t>> NatsLink::get_model(const std::string& hash) {
  kvStore* kv = bucket();
  auto get = [&](const std::string& key) -> std::unique_ptr<kvEntry, KvEntryFree> {
    kvEntry* entry = nullptr;
    const natsStatus status = kvStore_Get(&entry, kv, key.c_str());
    if (status == NATS_NOT_FOUND) return nullptr;
    check_nats(status, "NATS: fetching model " + hash);
    return std::unique_ptr<kvEntry, KvEntryFree>(entry);
  };
  const auto index_entry = get(hash);
  if (!index_entry) return std::nullopt;
  const nlohmann::json index = nlohmann::json::parse(kvEntry_ValueString(index_entry.get()), nullptr, false);
  if (!index.is_object() || !index.contains("bytes") || !index.contains("chunks") ||
      !index["bytes"].is_number_unsigned() || !index["chunks"].is_number_unsigned()) {
    throw Error(ErrorCode::corrupt, "NATS: the models bucket's entry " + hash + " is damaged; delete it and restart serve");
  }
  const auto total = index["bytes"].get<size_t>();
  const auto chunks = index["chunks"].get<size_t>();
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < chunks; ++i) {
    const auto chunk = get(chunk_key(hash, i));
    if (!chunk) return std::nullopt;
    const auto* data = static_cast<const uint8_t*>(kvEntry_Value(chunk.get()));
    bytes.insert(bytes.end(), data, data + kvEntry_ValueLen(chunk.get()));
    if (bytes.size() > total) break;
  }
  if (bytes.size() != total) {
    throw Error(ErrorCode::corrupt, "NATS: model " + hash + " in the bucket has " + std::to_string(bytes.size()) +
                                        " bytes, its index says " + std::to_string(total));
  }
  return bytes;
}

}  // namespace ns::engine::detail
