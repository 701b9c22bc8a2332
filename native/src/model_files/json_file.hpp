// Small text files beside the weights (config.json, model_index.json, index files, vocabularies), read whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "formats/json.hpp"

namespace nd::model_files {

// The file's bytes. Throws Error(ND_STATUS_IO_ERROR) naming the path, and Error(ND_STATUS_INVALID_FORMAT)
// for a file over `max_bytes` (these files are small; a huge one is a mistake, not something to allocate).
std::string read_text_file(const std::filesystem::path& path, std::uint64_t max_bytes = 64u << 20);

// The file parsed as strict JSON; errors start with the path.
formats::JsonValue read_json_file(const std::filesystem::path& path);

// A member of a JSON object when it is a string; nullopt when absent or of another type.
std::optional<std::string> json_string_member(const formats::JsonValue& object, std::string_view key);

} // namespace nd::model_files
