// A strict JSON (RFC 8259) parser producing a small document tree.
//
// Model files put their headers in JSON, so this parser is an attack surface: it validates UTF-8, limits
// nesting, refuses duplicate keys (whose meaning RFC 8259 leaves open), and reports every error with its
// byte offset. Objects keep their members in file order. Numbers keep their text; integral ones also carry
// their exact value when it fits in 64 bits, so sizes and offsets never pass through a double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nd::formats {

enum class JsonType { null, boolean, number, string, array, object };

// "null", "a boolean", "a number", "a string", "an array", "an object": for messages.
const char* json_type_description(JsonType type) noexcept;

struct JsonNumber {
    std::string text;                    // as written in the document
    bool integral = false;               // no fraction and no exponent
    std::optional<std::int64_t> int64;   // the exact value when integral and in range
    std::optional<std::uint64_t> uint64; // the exact value when integral, non-negative and in range
};

struct JsonMember;

class JsonValue {
public:
    using Array = std::vector<JsonValue>;
    using Object = std::vector<JsonMember>;

    // Defined after JsonMember (below): the variant needs both vector types complete.
    JsonValue() noexcept; // null at offset 0
    JsonValue(bool value, std::size_t offset);
    JsonValue(JsonNumber value, std::size_t offset);
    JsonValue(std::string value, std::size_t offset);
    JsonValue(Array value, std::size_t offset);
    JsonValue(Object value, std::size_t offset);
    static JsonValue null_at(std::size_t offset);

    JsonType type() const noexcept { return static_cast<JsonType>(data_.index()); }
    // Offset of the value's first byte, in the coordinates given by JsonParseOptions::offset_base.
    std::size_t offset() const noexcept { return offset_; }

    // Each accessor throws Error(ND_STATUS_INTERNAL_ERROR) on the wrong type: check type() first.
    bool as_bool() const;
    const JsonNumber& as_number() const;
    const std::string& as_string() const;
    const Array& as_array() const;
    const Object& as_object() const;

    // The member named `key` of an object; nullptr if there is none. Linear: objects here are small.
    const JsonValue* find(std::string_view key) const;

private:
    template <typename T>
    const T& get(const char* wanted) const;

    // Alternatives in JsonType order: type() relies on it.
    std::variant<std::monostate, bool, JsonNumber, std::string, Array, Object> data_;
    std::size_t offset_ = 0;
};

struct JsonMember {
    std::string key;
    std::size_t key_offset = 0;
    JsonValue value;
};

inline JsonValue::JsonValue() noexcept = default;
inline JsonValue::JsonValue(bool value, std::size_t offset) : data_(value), offset_(offset) {}
inline JsonValue::JsonValue(JsonNumber value, std::size_t offset)
    : data_(std::move(value)), offset_(offset) {}
inline JsonValue::JsonValue(std::string value, std::size_t offset)
    : data_(std::move(value)), offset_(offset) {}
inline JsonValue::JsonValue(Array value, std::size_t offset) : data_(std::move(value)), offset_(offset) {}
inline JsonValue::JsonValue(Object value, std::size_t offset) : data_(std::move(value)), offset_(offset) {}

inline JsonValue JsonValue::null_at(std::size_t offset) {
    JsonValue value;
    value.offset_ = offset;
    return value;
}

struct JsonParseOptions {
    std::size_t max_depth = 64;  // arrays and objects nested deeper are refused
    std::size_t offset_base = 0; // added to every offset reported, e.g. where the text starts in a file
};

// Parses a complete document (surrounding whitespace allowed). Throws Error(ND_STATUS_INVALID_FORMAT)
// whose message says what is wrong and at which byte.
JsonValue parse_json(std::string_view text, const JsonParseOptions& options = {});

} // namespace nd::formats
