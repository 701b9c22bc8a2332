#include "formats/json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace nd::formats {
namespace {

// The message of the error that parsing `text` raises; fails the test if it parses.
std::string parse_error(std::string_view text, const JsonParseOptions& options = {}) {
    try {
        (void)parse_json(text, options);
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        return std::string(error.message());
    }
    ADD_FAILURE() << "parsed without an error: " << text;
    return {};
}

#define EXPECT_JSON_ERROR(text, expected_part)                                                               \
    do {                                                                                                     \
        const std::string message = parse_error(text);                                                       \
        EXPECT_NE(message.find(expected_part), std::string::npos) << "message: " << message;                 \
    } while (false)

TEST(Json, Scalars_parse_to_their_types) {
    EXPECT_EQ(parse_json("null").type(), JsonType::null);
    EXPECT_TRUE(parse_json("true").as_bool());
    EXPECT_FALSE(parse_json("false").as_bool());
    EXPECT_EQ(parse_json("\"hi\"").as_string(), "hi");
    EXPECT_EQ(parse_json("12").as_number().int64, 12);
}

TEST(Json, Objects_keep_member_order_and_offsets) {
    const JsonValue value = parse_json(R"( {"b": 1, "a": [true, null], "c": {}} )");
    ASSERT_EQ(value.type(), JsonType::object);
    EXPECT_EQ(value.offset(), 1u);
    const auto& members = value.as_object();
    ASSERT_EQ(members.size(), 3u);
    EXPECT_EQ(members[0].key, "b");
    EXPECT_EQ(members[1].key, "a");
    EXPECT_EQ(members[2].key, "c");
    EXPECT_EQ(members[0].key_offset, 2u);
    EXPECT_EQ(members[0].value.offset(), 7u);
    ASSERT_NE(value.find("a"), nullptr);
    EXPECT_EQ(value.find("a")->as_array().size(), 2u);
    EXPECT_EQ(value.find("a")->as_array()[1].type(), JsonType::null);
    EXPECT_EQ(value.find("missing"), nullptr);
}

TEST(Json, Offset_base_shifts_every_reported_offset) {
    JsonParseOptions options;
    options.offset_base = 100;
    const JsonValue value = parse_json("[1, 2]", options);
    EXPECT_EQ(value.offset(), 100u);
    EXPECT_EQ(value.as_array()[1].offset(), 104u);
    const std::string message = parse_error("[1, x]", options);
    EXPECT_NE(message.find("at byte 104"), std::string::npos) << message;
}

TEST(Json, Duplicate_keys_are_rejected_with_both_offsets) {
    EXPECT_JSON_ERROR(R"({"a":1,"b":2,"a":3})", "duplicate key \"a\" (at byte 13; first at byte 1)");
    EXPECT_JSON_ERROR(R"({"x":{"k":1,"k":1}})", "duplicate key \"k\"");
    EXPECT_NO_THROW(parse_json(R"({"a":{"a":1}})")); // the same key at different levels is fine
}

TEST(Json, Nesting_is_limited) {
    const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    EXPECT_NO_THROW(parse_json(nested(64)));
    EXPECT_JSON_ERROR(nested(65), "nesting deeper than 64 levels (at byte 64)");
    JsonParseOptions shallow;
    shallow.max_depth = 2;
    EXPECT_NE(parse_error(R"({"a":{"b":[]}})", shallow).find("nesting deeper than 2"), std::string::npos);
    EXPECT_JSON_ERROR(std::string(100000, '['), "nesting deeper than 64 levels");
}

TEST(Json, String_escapes_are_decoded) {
    EXPECT_EQ(parse_json(R"("\"\\\/\b\f\n\r\t")").as_string(), "\"\\/\b\f\n\r\t");
    EXPECT_EQ(parse_json(R"("\u0041\u00e9\u65E5")").as_string(), "A\xC3\xA9\xE6\x97\xA5");
    EXPECT_EQ(parse_json(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
    EXPECT_EQ(parse_json(R"("a\u0000b")").as_string(), std::string("a\0b", 3));
}

TEST(Json, Bad_escapes_are_rejected) {
    EXPECT_JSON_ERROR(R"("\x")", "invalid escape");
    EXPECT_JSON_ERROR(R"("\u12")", "\\u escape");
    EXPECT_JSON_ERROR(R"("\u12G4")", "invalid hex digit 'G'");
    EXPECT_JSON_ERROR(R"("\ud83d")", "high surrogate \\ud83d is not followed by a low surrogate");
    EXPECT_JSON_ERROR(R"("\ud83d\u0041")", "not by a low surrogate");
    EXPECT_JSON_ERROR(R"("\ude00")", "unpaired low surrogate");
}

TEST(Json, Strings_must_be_valid_utf8) {
    EXPECT_EQ(parse_json("\"\xE6\x97\xA5\"").as_string(), "\xE6\x97\xA5");
    EXPECT_JSON_ERROR("\"\xC0\xAF\"", "invalid UTF-8 in a string (at byte 1)");   // overlong '/'
    EXPECT_JSON_ERROR("\"\xED\xA0\x80\"", "invalid UTF-8");                       // encoded surrogate
    EXPECT_JSON_ERROR("\"\xF4\x90\x80\x80\"", "invalid UTF-8");                   // above U+10FFFF
    EXPECT_JSON_ERROR("\"ab\xE6\x97\"", "invalid UTF-8 in a string (at byte 3)"); // truncated
}

TEST(Json, Control_characters_must_be_escaped) {
    EXPECT_JSON_ERROR("\"a\nb\"", "unescaped control character byte 0x0A");
    EXPECT_JSON_ERROR(std::string("\"a\0b\"", 5), "unescaped control character byte 0x00");
}

TEST(Json, Unterminated_string_reports_where_it_starts) {
    EXPECT_JSON_ERROR(R"(["ok", "open)", "unterminated string (at byte 7)");
}

TEST(Json, Integers_keep_their_exact_value) {
    const JsonNumber max_int64 = parse_json("9223372036854775807").as_number();
    EXPECT_EQ(max_int64.int64, std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(max_int64.uint64, 9223372036854775807u);

    const JsonNumber min_int64 = parse_json("-9223372036854775808").as_number();
    EXPECT_EQ(min_int64.int64, std::numeric_limits<std::int64_t>::min());
    EXPECT_FALSE(min_int64.uint64.has_value());

    const JsonNumber max_uint64 = parse_json("18446744073709551615").as_number();
    EXPECT_FALSE(max_uint64.int64.has_value());
    EXPECT_EQ(max_uint64.uint64, std::numeric_limits<std::uint64_t>::max());

    const JsonNumber too_big = parse_json("18446744073709551616").as_number();
    EXPECT_TRUE(too_big.integral);
    EXPECT_FALSE(too_big.int64.has_value());
    EXPECT_FALSE(too_big.uint64.has_value());
    EXPECT_EQ(too_big.text, "18446744073709551616");

    EXPECT_FALSE(parse_json("-9223372036854775809").as_number().int64.has_value());
    EXPECT_EQ(parse_json("-0").as_number().int64, 0);
}

TEST(Json, Fractions_and_exponents_are_not_integral) {
    for (const char* text : {"1.0", "1e3", "-2.5E-3", "0.5", "1E+2"}) {
        const JsonNumber number = parse_json(text).as_number();
        EXPECT_FALSE(number.integral) << text;
        EXPECT_FALSE(number.int64.has_value()) << text;
        EXPECT_EQ(number.text, text);
    }
}

TEST(Json, Malformed_numbers_are_rejected) {
    EXPECT_JSON_ERROR("01", "leading zero");
    EXPECT_JSON_ERROR("-", "digit after '-'");
    EXPECT_JSON_ERROR("-a", "digit after '-'");
    EXPECT_JSON_ERROR("1.", "digit after '.'");
    EXPECT_JSON_ERROR("1e", "exponent");
    EXPECT_JSON_ERROR(".5", "unexpected '.'");
    EXPECT_JSON_ERROR("+1", "unexpected '+'");
    EXPECT_JSON_ERROR("0x10", "after the end of the JSON value");
}

TEST(Json, Structural_errors_are_rejected) {
    EXPECT_JSON_ERROR("", "unexpected end of input");
    EXPECT_JSON_ERROR("   ", "unexpected end of input");
    EXPECT_JSON_ERROR("[1,]", "unexpected ']'");
    EXPECT_JSON_ERROR(R"({"a":1,})", "expected a key");
    EXPECT_JSON_ERROR("{1:2}", "expected a key");
    EXPECT_JSON_ERROR(R"({"a" 1})", "expected ':'");
    EXPECT_JSON_ERROR("[1 2]", "expected ',' or ']'");
    EXPECT_JSON_ERROR(R"({"a":1 "b":2})", "expected ',' or '}'");
    EXPECT_JSON_ERROR("[1", "unexpected end of input");
    EXPECT_JSON_ERROR("tru", "expected 'true'");
    EXPECT_JSON_ERROR("nul", "expected 'null'");
    EXPECT_JSON_ERROR("{} {}", "after the end of the JSON value (at byte 3)");
    EXPECT_JSON_ERROR("\xEF\xBB\xBF{}", "unexpected byte 0xEF"); // a byte order mark is not JSON
    EXPECT_NO_THROW(parse_json(" \t\r\n{} \t\r\n"));
}

TEST(Json, Accessing_the_wrong_type_is_an_internal_error) {
    const JsonValue value = parse_json("[]");
    try {
        (void)value.as_string();
        FAIL() << "expected an error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INTERNAL_ERROR);
        EXPECT_EQ(error.message(), "JSON value is an array, not a string");
    }
}

} // namespace
} // namespace nd::formats
