// A model's content hash: SHA-256 (OpenSSL's libcrypto) of its canonical fp32 safetensors bytes, so that the same
// weights have the same identity whatever file or precision they were loaded from.
#include <openssl/evp.h>

#include "ns/core/error.h"
#include "ns/sr/sr.h"

namespace ns::sr {

std::string model_hash(const Model& model) {
  const std::vector<uint8_t> bytes = serialize_model(model);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::internal, "model hash: OpenSSL's SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

}  // namespace ns::sr
