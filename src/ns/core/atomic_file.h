// ns/core: replacing a file so that readers see the old one or the new one, never half of one: write to
// "<path>.tmp", flush, then rename over <path> (manifests, checkpoints).
// In: the path, the bytes (or a writer of the temporary file), and `who` for messages ("sample", "train").
// Errors: ns::Error io "<who>: cannot write <name> (<reason>); check the disk (full?)" with the file in its context.
// Thread-safety: none of its own; two writers of one path must not overlap.
#pragma once

#include <filesystem>
#include <string_view>

namespace ns::core {

// Writes `text` to path.tmp, then renames it over `path`.
void write_text_atomically(const std::filesystem::path& path, std::string_view text, std::string_view who);

// Renames an already written temporary file over `path` (for writers that produce the temporary file themselves).
void rename_into_place(const std::filesystem::path& temp, const std::filesystem::path& path, std::string_view who);

// The temporary name both use: path + ".tmp".
std::filesystem::path temporary_path(const std::filesystem::path& path);

}  // namespace ns::core
