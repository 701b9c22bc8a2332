#include "formats/safetensors.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/utf8.hpp"
#include "formats/json.hpp"

namespace nd::formats {

using core::format;

namespace {

// Every refusal starts with "safetensors: ", so a message read far from its cause still names the format.
template <typename... Args>
[[noreturn]] void refuse(core::FormatString<std::type_identity_t<Args>...> text, const Args&... args) {
    core::throw_invalid_format("safetensors: {}", format(text, args...));
}

constexpr std::uint64_t kLengthPrefixSize = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

// A tensor entry checked on its own; where it lies relative to the others is checked afterwards.
struct TensorEntry {
    SafetensorsTensor tensor;
    std::uint64_t begin = 0; // data_offsets, relative to the start of the data region
    std::uint64_t end = 0;
    std::size_t offsets_at = 0; // file offset of the data_offsets array, for messages
};

std::uint64_t read_u64_le(std::span<const std::byte> bytes) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
    }
    return value;
}

std::string shape_text(std::span<const std::int64_t> shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        text += format("{}{}", i == 0 ? "" : ", ", shape[i]);
    }
    return text + "]";
}

// How a value that should have been a non-negative integer reads in a message.
std::string describe_non_integer(const JsonValue& value) {
    if (value.type() == JsonType::number) {
        return value.as_number().text;
    }
    return json_type_description(value.type());
}

// C strings cannot carry NUL, and names and metadata are handed out as C strings.
void reject_nul(std::string_view text, std::string_view what, std::size_t offset) {
    if (text.find('\0') != std::string_view::npos) {
        refuse("{} (at byte {}) contains a NUL character", what, offset);
    }
}

std::vector<SafetensorsMetadataEntry> parse_metadata(const JsonValue& value) {
    if (value.type() != JsonType::object) {
        refuse("\"__metadata__\" (at byte {}) must be an object of strings, not {}", value.offset(),
               json_type_description(value.type()));
    }
    std::vector<SafetensorsMetadataEntry> entries;
    entries.reserve(value.as_object().size());
    for (const JsonMember& member : value.as_object()) {
        if (member.value.type() != JsonType::string) {
            refuse("\"__metadata__\" entry \"{}\" (at byte {}) must be a string, not {}", member.key,
                   member.value.offset(), json_type_description(member.value.type()));
        }
        reject_nul(member.key, "a \"__metadata__\" key", member.key_offset);
        reject_nul(member.value.as_string(), "a \"__metadata__\" value", member.value.offset());
        entries.push_back({member.key, member.value.as_string()});
    }
    // The JSON parser has refused duplicate keys, so this order is total.
    std::sort(
        entries.begin(), entries.end(),
        [](const SafetensorsMetadataEntry& a, const SafetensorsMetadataEntry& b) { return a.key < b.key; });
    return entries;
}

nd_dtype parse_dtype(const std::string& name, const JsonValue& value) {
    if (value.type() != JsonType::string) {
        refuse("tensor '{}': \"dtype\" (at byte {}) must be a string, not {}", name, value.offset(),
               json_type_description(value.type()));
    }
    const auto dtype = core::dtype_from_name(value.as_string());
    if (!dtype) {
        refuse("tensor '{}': unknown dtype \"{}\" (at byte {}); known dtypes are {}", name, value.as_string(),
               value.offset(), core::known_dtype_names());
    }
    return *dtype;
}

std::vector<std::int64_t> parse_shape(const std::string& name, const JsonValue& value) {
    if (value.type() != JsonType::array) {
        refuse("tensor '{}': \"shape\" (at byte {}) must be an array of non-negative integers, not {}", name,
               value.offset(), json_type_description(value.type()));
    }
    const JsonValue::Array& dims = value.as_array();
    if (dims.size() > kSafetensorsMaxDims) {
        refuse("tensor '{}': \"shape\" (at byte {}) has {} dimensions; at most {} are supported", name,
               value.offset(), dims.size(), kSafetensorsMaxDims);
    }
    std::vector<std::int64_t> shape;
    shape.reserve(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) {
        const JsonValue& dim = dims[i];
        const bool valid =
            dim.type() == JsonType::number && dim.as_number().int64 && *dim.as_number().int64 >= 0;
        if (!valid) {
            refuse(
                "tensor '{}': shape[{}] (at byte {}) is {}, not a non-negative integer that fits in 64 bits",
                name, i, dim.offset(), describe_non_integer(dim));
        }
        shape.push_back(*dim.as_number().int64);
    }
    return shape;
}

std::uint64_t parse_offset(const std::string& name, const JsonValue& value, const char* which) {
    const bool valid = value.type() == JsonType::number && value.as_number().uint64.has_value();
    if (!valid) {
        refuse("tensor '{}': data_offsets {} (at byte {}) is {}, not a non-negative integer that fits in 64 "
               "bits",
               name, which, value.offset(), describe_non_integer(value));
    }
    return *value.as_number().uint64;
}

TensorEntry parse_tensor(const JsonMember& member) {
    const std::string& name = member.key;
    if (name.empty()) {
        refuse("a tensor has an empty name (at byte {})", member.key_offset);
    }
    reject_nul(name, "a tensor name", member.key_offset);
    const JsonValue& entry = member.value;
    if (entry.type() != JsonType::object) {
        refuse("tensor '{}' (at byte {}) must be an object, not {}", name, entry.offset(),
               json_type_description(entry.type()));
    }

    const JsonValue* dtype = nullptr;
    const JsonValue* shape = nullptr;
    const JsonValue* offsets = nullptr;
    for (const JsonMember& field : entry.as_object()) {
        if (field.key == "dtype") {
            dtype = &field.value;
        } else if (field.key == "shape") {
            shape = &field.value;
        } else if (field.key == "data_offsets") {
            offsets = &field.value;
        } else {
            refuse("tensor '{}' has an unknown field \"{}\" (at byte {})", name, field.key, field.key_offset);
        }
    }
    const std::array<std::pair<const JsonValue*, const char*>, 3> required{
        {{dtype, "dtype"}, {shape, "shape"}, {offsets, "data_offsets"}}};
    for (const auto& [field, field_name] : required) {
        if (field == nullptr) {
            refuse("tensor '{}' (at byte {}) has no \"{}\"", name, entry.offset(), field_name);
        }
    }

    TensorEntry result;
    result.tensor.name = name;
    result.tensor.dtype = parse_dtype(name, *dtype);
    result.tensor.shape = parse_shape(name, *shape);

    const std::vector<std::int64_t>& dims = result.tensor.shape;
    std::uint64_t n_elements = 1;
    if (std::find(dims.begin(), dims.end(), 0) != dims.end()) {
        n_elements = 0; // empty, however large the other dimensions (whose product alone may overflow)
    } else {
        for (const std::int64_t dim : dims) {
            if (__builtin_mul_overflow(n_elements, static_cast<std::uint64_t>(dim), &n_elements)) {
                refuse("tensor '{}': shape {} (at byte {}) has more elements than fit in 64 bits", name,
                       shape_text(dims), shape->offset());
            }
        }
    }
    result.tensor.n_elements = n_elements;

    if (offsets->type() != JsonType::array || offsets->as_array().size() != 2) {
        refuse("tensor '{}': \"data_offsets\" (at byte {}) must be an array of two integers [begin, end]",
               name, offsets->offset());
    }
    result.offsets_at = offsets->offset();
    result.begin = parse_offset(name, offsets->as_array()[0], "begin");
    result.end = parse_offset(name, offsets->as_array()[1], "end");
    if (result.begin > result.end) {
        refuse("tensor '{}': data_offsets [{}, {}] (at byte {}) end before they begin", name, result.begin,
               result.end, result.offsets_at);
    }

    const std::size_t element_size = core::dtype_size(result.tensor.dtype);
    std::uint64_t byte_size = 0;
    if (__builtin_mul_overflow(n_elements, element_size, &byte_size)) {
        refuse("tensor '{}': {} elements of {} are more bytes than fit in 64 bits (at byte {})", name,
               n_elements, core::dtype_name(result.tensor.dtype), shape->offset());
    }
    if (byte_size != result.end - result.begin) {
        refuse("tensor '{}': shape {} of {} needs {} bytes, but data_offsets [{}, {}] (at byte {}) span {} "
               "bytes",
               name, shape_text(result.tensor.shape), core::dtype_name(result.tensor.dtype), byte_size,
               result.begin, result.end, result.offsets_at, result.end - result.begin);
    }
    result.tensor.data_size = byte_size;
    return result;
}

// The tensors must cover the data region exactly, in some order: no hole, no overlap, nothing after.
// This is what makes every tensor's bytes safe to read and every byte of the file accounted for.
void check_tiling(std::span<const TensorEntry> sorted, std::uint64_t data_region_size) {
    std::uint64_t expected = 0;
    const TensorEntry* previous = nullptr;
    for (const TensorEntry& entry : sorted) {
        const std::string& name = entry.tensor.name;
        if (previous == nullptr && entry.begin != 0) {
            refuse("the data region must start with a tensor, but the first one, '{}', begins at data offset "
                   "{} (data_offsets at byte {})",
                   name, entry.begin, entry.offsets_at);
        }
        if (entry.begin < expected) {
            refuse("tensors '{}' [{}, {}) and '{}' [{}, {}) overlap (data_offsets at bytes {} and {})",
                   previous->tensor.name, previous->begin, previous->end, name, entry.begin, entry.end,
                   previous->offsets_at, entry.offsets_at);
        }
        if (entry.begin > expected) {
            refuse("{} bytes between tensors '{}' (ends at data offset {}) and '{}' (begins at {}) belong to "
                   "no tensor (data_offsets at byte {})",
                   entry.begin - expected, previous->tensor.name, expected, name, entry.begin,
                   entry.offsets_at);
        }
        expected = entry.end;
        previous = &entry;
    }
    if (previous == nullptr && data_region_size != 0) {
        refuse("the header lists no tensors, but {} bytes of data follow it", data_region_size);
    }
    if (expected < data_region_size) {
        refuse("the last tensor, '{}', ends at data offset {}, but the data region holds {} bytes: {} "
               "trailing bytes belong to no tensor",
               previous->tensor.name, expected, data_region_size, data_region_size - expected);
    }
    if (expected > data_region_size) {
        refuse("tensor '{}' ends at data offset {} (data_offsets at byte {}), past the end of the file: the "
               "data region holds {} bytes",
               previous->tensor.name, expected, previous->offsets_at, data_region_size);
    }
}

// Returns the JSON text without its padding, after the checks that need the raw bytes.
std::string_view check_header_text(std::string_view header) {
    if (const auto bad = core::find_invalid_utf8(header)) {
        refuse("the header is not valid UTF-8 (at byte {})", kLengthPrefixSize + *bad);
    }
    if (header.front() != '{') {
        refuse("the header must start with '{{' (at byte {}), not with {}", kLengthPrefixSize,
               core::describe_byte(header.front()));
    }
    // The format allows trailing spaces so that writers can align the data; nothing else may follow.
    const std::size_t last = header.find_last_not_of(' '); // not npos: the first byte is '{'
    if (header[last] != '}') {
        refuse("the header must end with '}}' followed only by spaces (0x20), but ends with {} (at byte {})",
               core::describe_byte(header[last]), kLengthPrefixSize + last);
    }
    return header.substr(0, last + 1);
}

} // namespace

SafetensorsHeader parse_safetensors(std::span<const std::byte> whole_file) {
    if (whole_file.size() < kLengthPrefixSize) {
        refuse("the file is {} bytes long, too short for the 8-byte header length", whole_file.size());
    }
    // Every size below is checked against the real file before anything is read or allocated with it.
    const std::uint64_t header_size = read_u64_le(whole_file.first(kLengthPrefixSize));
    const std::uint64_t after_prefix = whole_file.size() - kLengthPrefixSize;
    if (header_size == 0) {
        refuse("the header length (bytes 0-7) is 0; a header holds at least \"{{}}\"");
    }
    if (header_size > kSafetensorsMaxHeaderSize) {
        refuse("the header length (bytes 0-7) is {} bytes, over the limit of {} bytes", header_size,
               kSafetensorsMaxHeaderSize);
    }
    if (header_size > after_prefix) {
        refuse("the header length (bytes 0-7) is {} bytes, but only {} bytes follow it in the {}-byte file",
               header_size, after_prefix, whole_file.size());
    }

    const auto header_bytes = whole_file.subspan(kLengthPrefixSize, static_cast<std::size_t>(header_size));
    const std::string_view json_text = check_header_text(
        std::string_view(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size()));

    JsonParseOptions options;
    options.offset_base = kLengthPrefixSize;
    JsonValue root;
    try {
        root = parse_json(json_text, options);
    } catch (const core::Error& error) {
        throw core::with_context(error, "safetensors: header");
    }

    SafetensorsHeader header;
    header.header_size = header_size;
    std::vector<TensorEntry> entries;
    entries.reserve(root.as_object().size());
    for (const JsonMember& member : root.as_object()) {
        if (member.key == kMetadataKey) {
            header.metadata = parse_metadata(member.value);
        } else {
            entries.push_back(parse_tensor(member));
        }
    }

    // Stable, so that zero-size tensors sharing an offset keep the header's order.
    std::stable_sort(entries.begin(), entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    check_tiling(entries, after_prefix - header_size);

    const std::uint64_t data_start = kLengthPrefixSize + header_size;
    header.tensors.reserve(entries.size());
    for (TensorEntry& entry : entries) {
        entry.tensor.data_offset = data_start + entry.begin;
        header.tensors.push_back(std::move(entry.tensor));
    }
    return header;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
    core::MappedFile file = core::MappedFile::open(path);
    try {
        SafetensorsHeader header = parse_safetensors(file.bytes());
        return SafetensorsFile(std::move(file), std::move(header));
    } catch (const core::Error& error) {
        throw core::with_context(error, path);
    }
}

} // namespace nd::formats
