// safetensors reader and writer for SR models: every header field is validated before any byte is used.
#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ns/core/error.h"
#include "ns/sr/sr.h"

namespace ns::sr {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the official reader's limit

using nlohmann::json;

[[noreturn]] void corrupt(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::corrupt,
              fmt::format("{}: {}; the model file is damaged or not safetensors, export or copy it again", where, what));
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);  // inf / nan
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {  // subnormal: normalise
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mantissa & 0x3ffu) << 13);
  } else {
    bits = sign;
  }
  return std::bit_cast<float>(bits);
}

uint16_t float_to_half(float f) {  // round to nearest even, overflow to inf, nan kept
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {                                                // below the smallest normal half
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);           // < half of the smallest subnormal
    const uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // value / 2^-24 = mant * 2^(e - 126); 14..24
    const uint32_t kept = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    uint32_t r = kept + ((rest > halfway || (rest == halfway && (kept & 1))) ? 1 : 0);
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = abs - 0x38000000u;  // rebias the exponent 127 -> 15, then drop 13 mantissa bits
  const uint32_t rest = r & 0x1fffu;
  r >>= 13;
  if (rest > 0x1000u || (rest == 0x1000u && (r & 1))) ++r;
  return static_cast<uint16_t>(sign | r);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t float_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  const uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

const char* storage_name(StorageType t) {
  switch (t) {
    case StorageType::f16: return "F16";
    case StorageType::bf16: return "BF16";
    default: return "F32";
  }
}

size_t storage_bytes(StorageType t) { return t == StorageType::f32 ? 4 : 2; }

// A strictly parsed non-negative integer from a JSON value.
bool as_u64(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

int parse_meta_int(const json& meta, const char* key, const std::string& where) {
  auto it = meta.find(key);
  if (it == meta.end()) {
    throw Error(ErrorCode::mismatch, fmt::format("{}: __metadata__ has no '{}' (it needs arch, blocks, channels and "
                                                 "scale); save the model with neuroscaler or add the field",
                                                 where, key));
  }
  const std::string s = it->is_string() ? it->get<std::string>() : it->dump();
  int value = 0;
  size_t used = 0;
  try {
    value = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) {
    throw Error(ErrorCode::corrupt, fmt::format("{}: __metadata__ '{}' is '{}', not an integer; fix the metadata",
                                                where, key, s));
  }
  return value;
}

struct RawTensor {
  std::string name;
  StorageType type = StorageType::f32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Infers the EDSR description from tensor shapes (files saved without our metadata).
ModelDesc infer_desc(const std::vector<RawTensor>& tensors, const std::string& where) {
  ModelDesc desc;
  const RawTensor* head = nullptr;
  int blocks = 0;
  int upsample_convs = 0;
  const RawTensor* up = nullptr;
  for (const RawTensor& t : tensors) {
    if (t.name == "head.0.weight") head = &t;
    if (t.name.starts_with("body.") && t.name.ends_with(".body.0.weight")) ++blocks;
    if (t.name.starts_with("tail.0.body.") && t.name.ends_with(".weight")) {
      ++upsample_convs;
      up = &t;
    }
  }
  if (!head || head->shape.size() != 4 || !up || up->shape.size() != 4 || head->shape[0] <= 0) {
    throw Error(ErrorCode::mismatch,
                fmt::format("{}: no __metadata__ and the tensors do not look like EDSR (head.0.weight, "
                            "tail.0.body.0.weight); save the model with arch, blocks, channels and scale metadata",
                            where));
  }
  desc.channels = static_cast<int>(head->shape[0]);
  desc.blocks = blocks;
  const int64_t ratio = up->shape[0] / desc.channels;
  desc.scale = upsample_convs == 2 ? 4 : (ratio == 9 ? 3 : 2);
  return desc;
}

}  // namespace

Model parse_model(const uint8_t* data, size_t size, const std::string& where) {
  if (size < 8) corrupt(where, fmt::format("file is {} bytes, shorter than the 8-byte header length", size));
  uint64_t header_len = 0;
  std::memcpy(&header_len, data, 8);
  if (header_len > kMaxHeaderBytes) {
    corrupt(where, fmt::format("header length {} bytes is absurd (limit {})", header_len, kMaxHeaderBytes));
  }
  if (header_len < 2 || header_len > size - 8) {
    corrupt(where, fmt::format("header length {} bytes does not fit the {}-byte file", header_len, size));
  }
  const char* header_begin = reinterpret_cast<const char*>(data + 8);
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_len);
  } catch (const json::exception& e) {
    corrupt(where, fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) corrupt(where, "header is not a JSON object");

  const uint8_t* buffer = data + 8 + header_len;
  const uint64_t buffer_size = size - 8 - header_len;

  std::vector<RawTensor> raw;
  const json* metadata = nullptr;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it->is_object()) corrupt(where, "__metadata__ is not an object");
      metadata = &*it;
      continue;
    }
    const json& entry = *it;
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets")) {
      corrupt(where, fmt::format("tensor '{}' lacks dtype, shape or data_offsets", name));
    }
    RawTensor t;
    t.name = name;
    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) corrupt(where, fmt::format("tensor '{}': dtype is not a string", name));
    const std::string type = dtype.get<std::string>();
    if (type == "F32") t.type = StorageType::f32;
    else if (type == "F16") t.type = StorageType::f16;
    else if (type == "BF16") t.type = StorageType::bf16;
    else {
      throw Error(ErrorCode::unsupported, fmt::format("{}: tensor '{}' has dtype {}; only F32, F16 and BF16 weights "
                                                      "are supported, convert the model to float",
                                                      where, name, type));
    }
    const json& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > 8) corrupt(where, fmt::format("tensor '{}': shape is not an array", name));
    uint64_t elements = 1;
    for (const json& d : shape) {
      uint64_t dim = 0;
      if (!as_u64(d, dim) || dim > (1u << 30)) {
        corrupt(where, fmt::format("tensor '{}': shape {} has an invalid dimension", name, shape.dump()));
      }
      elements *= dim;
      if (elements > (uint64_t{1} << 34)) corrupt(where, fmt::format("tensor '{}': shape {} is absurd", name, shape.dump()));
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0], t.begin) || !as_u64(offsets[1], t.end) ||
        t.begin > t.end) {
      corrupt(where, fmt::format("tensor '{}': data_offsets {} is not [begin, end] with begin <= end", name,
                                 offsets.dump()));
    }
    const uint64_t expected = elements * storage_bytes(t.type);
    if (t.end - t.begin != expected) {
      corrupt(where, fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes, shape {} as {} needs {}", name,
                                 t.begin, t.end, t.end - t.begin, shape.dump(), type, expected));
    }
    if (t.end > buffer_size) {
      throw Error(ErrorCode::corrupt,
                  fmt::format("{}: tensor '{}' ends at byte {} of the data but the file holds only {}; the file is "
                              "truncated or its offsets are out of range, copy it again",
                              where, name, t.end, buffer_size));
    }
    raw.push_back(std::move(t));
  }

  // No two tensors may share bytes.
  std::vector<const RawTensor*> sorted;
  for (const RawTensor& t : raw) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const RawTensor* a, const RawTensor* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->begin < sorted[i - 1]->end) {
      corrupt(where, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", sorted[i - 1]->name,
                                 sorted[i - 1]->begin, sorted[i - 1]->end, sorted[i]->name, sorted[i]->begin,
                                 sorted[i]->end));
    }
  }

  Model model;
  if (metadata) {
    auto arch = metadata->find("arch");
    if (arch == metadata->end() || !arch->is_string()) {
      throw Error(ErrorCode::mismatch, fmt::format("{}: __metadata__ has no 'arch' string; add arch, blocks, "
                                                   "channels and scale",
                                                   where));
    }
    model.desc.arch = arch->get<std::string>();
    model.desc.blocks = parse_meta_int(*metadata, "blocks", where);
    model.desc.channels = parse_meta_int(*metadata, "channels", where);
    model.desc.scale = parse_meta_int(*metadata, "scale", where);
  } else {
    model.desc = infer_desc(raw, where);
  }
  validate_desc(model.desc, where);

  for (const RawTensor& t : raw) {
    Tensor out;
    out.shape = t.shape;
    const uint64_t n = (t.end - t.begin) / storage_bytes(t.type);
    out.data.resize(static_cast<size_t>(n));
    const uint8_t* src = buffer + t.begin;
    if (n == 0) {
      // nothing to copy (and no pointer to pass to memcpy)
    } else if (t.type == StorageType::f32) {
      std::memcpy(out.data.data(), src, static_cast<size_t>(n) * 4);
    } else {
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h = 0;
        std::memcpy(&h, src + 2 * i, 2);
        out.data[i] = t.type == StorageType::f16 ? half_to_float(h) : bf16_to_float(h);
      }
    }
    model.tensors.emplace(t.name, std::move(out));
  }
  // Metadata that disagrees with the tensors, missing or extra tensors: named by validate_model.
  validate_model(model, where);
  return model;
}

Model load_model(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw Error(ErrorCode::not_found, fmt::format("{}: cannot open the model file; check the path (create one with "
                                                  "'neuroscaler model init')",
                                                  path));
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) throw Error(ErrorCode::io, fmt::format("{}: reading the model file failed; check the disk", path));
  return parse_model(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> serialize_model(const Model& model, StorageType type) {
  validate_model(model);
  json header = json::object();
  header["__metadata__"] = {{"arch", model.desc.arch},
                            {"blocks", std::to_string(model.desc.blocks)},
                            {"channels", std::to_string(model.desc.channels)},
                            {"scale", std::to_string(model.desc.scale)}};
  uint64_t offset = 0;
  const std::vector<TensorSpec> specs = model_tensors(model.desc);
  for (const TensorSpec& spec : specs) {
    const uint64_t bytes = static_cast<uint64_t>(spec.elements()) * storage_bytes(type);
    header[spec.name] = {{"dtype", storage_name(type)}, {"shape", spec.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');  // keeps the data 8-byte aligned
  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* dst = out.data() + 8 + text.size();
  for (const TensorSpec& spec : specs) {
    const std::vector<float>& values = model.tensor(spec.name).data;
    for (float v : values) {
      if (type == StorageType::f32) {
        std::memcpy(dst, &v, 4);
        dst += 4;
      } else {
        const uint16_t h = type == StorageType::f16 ? float_to_half(v) : float_to_bf16(v);
        std::memcpy(dst, &h, 2);
        dst += 2;
      }
    }
  }
  return out;
}

void save_model(const Model& model, const std::string& path, StorageType type) {
  const std::vector<uint8_t> bytes = serialize_model(model, type);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    throw Error(ErrorCode::io, fmt::format("{}: cannot create the model file; check the directory and permissions",
                                           path));
  }
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) throw Error(ErrorCode::io, fmt::format("{}: writing the model failed; check free disk space", path));
}

StorageType storage_type_from_name(const std::string& name) {
  if (name == "f32") return StorageType::f32;
  if (name == "f16") return StorageType::f16;
  if (name == "bf16") return StorageType::bf16;
  throw Error(ErrorCode::invalid_argument, "model: unknown storage type '" + name + "'; use f32, f16 or bf16");
}

}  // namespace ns::sr
