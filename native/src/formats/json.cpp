#include "formats/json.hpp"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/utf8.hpp"

namespace nd::formats {

using core::describe_byte;
using core::throw_error;
using core::throw_invalid_format;

const char* json_type_description(JsonType type) noexcept {
    switch (type) {
    case JsonType::null: return "null";
    case JsonType::boolean: return "a boolean";
    case JsonType::number: return "a number";
    case JsonType::string: return "a string";
    case JsonType::array: return "an array";
    case JsonType::object: return "an object";
    }
    return "an unknown JSON type";
}

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

class Parser {
public:
    Parser(std::string_view text, const JsonParseOptions& options) : text_(text), options_(options) {}

    JsonValue parse_document() {
        skip_whitespace();
        JsonValue root = parse_value(0);
        skip_whitespace();
        if (pos_ != text_.size()) {
            fail("unexpected {} after the end of the JSON value", describe_byte(text_[pos_]));
        }
        return root;
    }

private:
    std::size_t absolute(std::size_t pos) const noexcept { return options_.offset_base + pos; }

    template <typename... Args>
    [[noreturn]] void fail_at(std::size_t pos, core::FormatString<std::type_identity_t<Args>...> what,
                              const Args&... args) const {
        throw_invalid_format("JSON: {} (at byte {})", core::format(what, args...), absolute(pos));
    }

    template <typename... Args>
    [[noreturn]] void fail(core::FormatString<std::type_identity_t<Args>...> what,
                           const Args&... args) const {
        fail_at(pos_, what, args...);
    }

    bool at_end() const noexcept { return pos_ >= text_.size(); }

    void skip_whitespace() noexcept {
        while (!at_end()) {
            const char c = text_[pos_];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            ++pos_;
        }
    }

    void expect_more(const char* what) const {
        if (at_end()) {
            fail("unexpected end of input, expected {}", what);
        }
    }

    JsonValue parse_value(std::size_t depth) {
        expect_more("a value");
        const std::size_t start = pos_;
        switch (text_[pos_]) {
        case '{': return parse_object(depth + 1);
        case '[': return parse_array(depth + 1);
        case '"': return JsonValue(parse_string(), absolute(start));
        case 't': expect_literal("true"); return JsonValue(true, absolute(start));
        case 'f': expect_literal("false"); return JsonValue(false, absolute(start));
        case 'n': expect_literal("null"); return JsonValue::null_at(absolute(start));
        default:
            if (text_[pos_] == '-' || is_digit(text_[pos_])) {
                return JsonValue(parse_number(), absolute(start));
            }
            fail("unexpected {}, expected a value", describe_byte(text_[pos_]));
        }
    }

    void expect_literal(std::string_view literal) {
        if (text_.substr(pos_, literal.size()) != literal) {
            fail("invalid literal, expected '{}'", literal);
        }
        pos_ += literal.size();
    }

    void enter(std::size_t depth) const {
        if (depth > options_.max_depth) {
            fail("nesting deeper than {} levels", options_.max_depth);
        }
    }

    JsonValue parse_array(std::size_t depth) {
        enter(depth);
        const std::size_t start = pos_++;
        JsonValue::Array items;
        skip_whitespace();
        expect_more("a value or ']'");
        if (text_[pos_] == ']') {
            ++pos_;
            return JsonValue(std::move(items), absolute(start));
        }
        while (true) {
            skip_whitespace();
            items.push_back(parse_value(depth));
            skip_whitespace();
            expect_more("',' or ']'");
            const char c = text_[pos_++];
            if (c == ']') {
                return JsonValue(std::move(items), absolute(start));
            }
            if (c != ',') {
                fail_at(pos_ - 1, "unexpected {} in an array, expected ',' or ']'", describe_byte(c));
            }
        }
    }

    JsonValue parse_object(std::size_t depth) {
        enter(depth);
        const std::size_t start = pos_++;
        JsonValue::Object members;
        skip_whitespace();
        expect_more("a key or '}'");
        if (text_[pos_] == '}') {
            ++pos_;
            return JsonValue(std::move(members), absolute(start));
        }
        while (true) {
            skip_whitespace();
            expect_more("a key");
            if (text_[pos_] != '"') {
                fail("unexpected {}, expected a key (a string)", describe_byte(text_[pos_]));
            }
            JsonMember member;
            member.key_offset = absolute(pos_);
            member.key = parse_string();
            skip_whitespace();
            expect_more("':'");
            if (text_[pos_] != ':') {
                fail("unexpected {} after a key, expected ':'", describe_byte(text_[pos_]));
            }
            ++pos_;
            skip_whitespace();
            member.value = parse_value(depth);
            members.push_back(std::move(member));
            skip_whitespace();
            expect_more("',' or '}'");
            const char c = text_[pos_++];
            if (c == '}') {
                reject_duplicate_keys(members);
                return JsonValue(std::move(members), absolute(start));
            }
            if (c != ',') {
                fail_at(pos_ - 1, "unexpected {} in an object, expected ',' or '}}'", describe_byte(c));
            }
        }
    }

    // Sorting indices keeps this O(n log n): a header may hold many thousands of tensors.
    static void reject_duplicate_keys(const JsonValue::Object& members) {
        if (members.size() < 2) {
            return;
        }
        std::vector<std::size_t> order(members.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return members[a].key < members[b].key; });
        for (std::size_t i = 1; i < order.size(); ++i) {
            const JsonMember& first = members[order[i - 1]];
            const JsonMember& second = members[order[i]];
            if (first.key == second.key) {
                throw_invalid_format("JSON: duplicate key \"{}\" (at byte {}; first at byte {})", second.key,
                                     second.key_offset, first.key_offset);
            }
        }
    }

    std::string parse_string() {
        const std::size_t start = pos_++;
        std::string out;
        while (true) {
            if (at_end()) {
                fail_at(start, "unterminated string");
            }
            const char c = text_[pos_];
            const auto byte = static_cast<unsigned char>(c);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c == '\\') {
                parse_escape(out);
            } else if (byte < 0x20) {
                fail("unescaped control character {} in a string", describe_byte(c));
            } else if (byte < 0x80) {
                out += c;
                ++pos_;
            } else {
                const auto decoded = core::decode_utf8(text_, pos_);
                if (!decoded) {
                    fail("invalid UTF-8 in a string");
                }
                out.append(text_.substr(pos_, decoded->length));
                pos_ += decoded->length;
            }
        }
    }

    void parse_escape(std::string& out) {
        const std::size_t start = pos_++;
        expect_more("an escape character");
        const char c = text_[pos_++];
        switch (c) {
        case '"': out += '"'; return;
        case '\\': out += '\\'; return;
        case '/': out += '/'; return;
        case 'b': out += '\b'; return;
        case 'f': out += '\f'; return;
        case 'n': out += '\n'; return;
        case 'r': out += '\r'; return;
        case 't': out += '\t'; return;
        case 'u': break;
        default: fail_at(start, "invalid escape: a backslash followed by {}", describe_byte(c));
        }
        char32_t code_point = parse_hex4(start);
        if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
            fail_at(start, "unpaired low surrogate \\u{} in a string", text_.substr(start + 2, 4));
        }
        if (code_point >= 0xD800 && code_point <= 0xDBFF) {
            // UTF-16 pair: a high surrogate must be followed by an escaped low surrogate.
            if (text_.substr(pos_, 2) != "\\u") {
                fail_at(start, "high surrogate \\u{} is not followed by a low surrogate",
                        text_.substr(start + 2, 4));
            }
            const std::size_t low_start = pos_;
            pos_ += 2;
            const char32_t low = parse_hex4(low_start);
            if (low < 0xDC00 || low > 0xDFFF) {
                fail_at(low_start, "high surrogate \\u{} is followed by \\u{}, not by a low surrogate",
                        text_.substr(start + 2, 4), text_.substr(low_start + 2, 4));
            }
            code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
        }
        core::append_utf8(out, code_point);
    }

    // Reads the four hex digits after "\u" (pos_ is just past the 'u').
    char32_t parse_hex4(std::size_t escape_start) {
        if (text_.size() - pos_ < 4) {
            fail_at(escape_start, "truncated \\u escape");
        }
        char32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            char32_t digit = 0;
            if (c >= '0' && c <= '9') {
                digit = static_cast<char32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                digit = static_cast<char32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                digit = static_cast<char32_t>(c - 'A' + 10);
            } else {
                fail_at(escape_start, "invalid hex digit {} in a \\u escape", describe_byte(c));
            }
            value = (value << 4) | digit;
        }
        return value;
    }

    JsonNumber parse_number() {
        const std::size_t start = pos_;
        const bool negative = text_[pos_] == '-';
        if (negative) {
            ++pos_;
        }
        if (at_end() || !is_digit(text_[pos_])) {
            fail("a number needs a digit after '-'");
        }
        const std::size_t int_start = pos_;
        if (text_[pos_] == '0') {
            ++pos_;
            if (!at_end() && is_digit(text_[pos_])) {
                fail_at(start, "a number must not have a leading zero");
            }
        } else {
            skip_digits();
        }
        const std::size_t int_end = pos_;

        bool integral = true;
        if (!at_end() && text_[pos_] == '.') {
            integral = false;
            ++pos_;
            if (at_end() || !is_digit(text_[pos_])) {
                fail("a number needs a digit after '.'");
            }
            skip_digits();
        }
        if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            integral = false;
            ++pos_;
            if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) {
                ++pos_;
            }
            if (at_end() || !is_digit(text_[pos_])) {
                fail("a number needs a digit in its exponent");
            }
            skip_digits();
        }

        JsonNumber number;
        number.text = std::string(text_.substr(start, pos_ - start));
        number.integral = integral;
        if (integral) {
            set_exact_integer(number, text_.substr(int_start, int_end - int_start), negative);
        }
        return number;
    }

    void skip_digits() noexcept {
        while (!at_end() && is_digit(text_[pos_])) {
            ++pos_;
        }
    }

    static void set_exact_integer(JsonNumber& number, std::string_view digits, bool negative) {
        std::uint64_t magnitude = 0;
        for (const char c : digits) {
            const auto digit = static_cast<std::uint64_t>(c - '0');
            if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
                return; // too large for any 64-bit form
            }
            magnitude = magnitude * 10 + digit;
        }
        constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (!negative) {
            number.uint64 = magnitude;
            if (magnitude <= int64_max) {
                number.int64 = static_cast<std::int64_t>(magnitude);
            }
        } else if (magnitude <= int64_max) {
            number.int64 = -static_cast<std::int64_t>(magnitude);
        } else if (magnitude == int64_max + 1) {
            number.int64 = std::numeric_limits<std::int64_t>::min();
        }
    }

    std::string_view text_;
    const JsonParseOptions& options_;
    std::size_t pos_ = 0;
};

} // namespace

template <typename T>
const T& JsonValue::get(const char* wanted) const {
    const T* value = std::get_if<T>(&data_);
    if (value == nullptr) {
        throw_error(ND_STATUS_INTERNAL_ERROR, "JSON value is {}, not {}", json_type_description(type()),
                    wanted);
    }
    return *value;
}

bool JsonValue::as_bool() const {
    return get<bool>("a boolean");
}
const JsonNumber& JsonValue::as_number() const {
    return get<JsonNumber>("a number");
}
const std::string& JsonValue::as_string() const {
    return get<std::string>("a string");
}
const JsonValue::Array& JsonValue::as_array() const {
    return get<Array>("an array");
}
const JsonValue::Object& JsonValue::as_object() const {
    return get<Object>("an object");
}

const JsonValue* JsonValue::find(std::string_view key) const {
    for (const JsonMember& member : as_object()) {
        if (member.key == key) {
            return &member.value;
        }
    }
    return nullptr;
}

JsonValue parse_json(std::string_view text, const JsonParseOptions& options) {
    return Parser(text, options).parse_document();
}

} // namespace nd::formats
