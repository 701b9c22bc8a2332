#include "model_files/json_file.hpp"

#include "core/error.hpp"
#include "core/mapped_file.hpp"

namespace nd::model_files {

std::string read_text_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    const core::MappedFile file = core::MappedFile::open(path.string());
    if (file.size() > max_bytes) {
        core::throw_invalid_format("{}: {} bytes is too large for this kind of file (at most {})", path.string(),
                                   file.size(), max_bytes);
    }
    const auto bytes = file.bytes();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

formats::JsonValue read_json_file(const std::filesystem::path& path) {
    const std::string text = read_text_file(path);
    try {
        return formats::parse_json(text);
    } catch (const core::Error& error) {
        throw core::with_context(error, path.string());
    }
}

std::optional<std::string> json_string_member(const formats::JsonValue& object, std::string_view key) {
    if (object.type() != formats::JsonType::object) {
        return std::nullopt;
    }
    const formats::JsonValue* value = object.find(key);
    if (value == nullptr || value->type() != formats::JsonType::string) {
        return std::nullopt;
    }
    return value->as_string();
}

} // namespace nd::model_files
