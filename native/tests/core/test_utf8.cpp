#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nd::core {
namespace {

TEST(Utf8, Valid_sequences_of_each_length_decode) {
    const std::string text = "a\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80"; // a, é, 日, 😀
    const char32_t expected[] = {U'a', U'\u00E9', U'\u65E5', U'\U0001F600'};
    std::size_t pos = 0;
    for (const char32_t code_point : expected) {
        const auto decoded = decode_utf8(text, pos);
        ASSERT_TRUE(decoded.has_value()) << "at " << pos;
        EXPECT_EQ(decoded->code_point, code_point);
        pos += decoded->length;
    }
    EXPECT_EQ(pos, text.size());
    EXPECT_FALSE(find_invalid_utf8(text).has_value());
}

TEST(Utf8, Overlong_encodings_are_rejected) {
    EXPECT_FALSE(decode_utf8("\xC0\x80", 0));         // U+0000 in two bytes
    EXPECT_FALSE(decode_utf8("\xC1\xBF", 0));         // U+007F in two bytes
    EXPECT_FALSE(decode_utf8("\xE0\x80\x80", 0));     // three bytes
    EXPECT_FALSE(decode_utf8("\xF0\x80\x80\x80", 0)); // four bytes
    EXPECT_FALSE(decode_utf8("\xF0\x8F\xBF\xBF", 0)); // U+FFFF in four bytes
}

TEST(Utf8, Surrogates_and_values_above_U10FFFF_are_rejected) {
    EXPECT_FALSE(decode_utf8("\xED\xA0\x80", 0));     // U+D800
    EXPECT_FALSE(decode_utf8("\xED\xBF\xBF", 0));     // U+DFFF
    EXPECT_TRUE(decode_utf8("\xEF\xBF\xBF", 0));      // U+FFFF is fine
    EXPECT_TRUE(decode_utf8("\xF4\x8F\xBF\xBF", 0));  // U+10FFFF is the last one
    EXPECT_FALSE(decode_utf8("\xF4\x90\x80\x80", 0)); // U+110000
    EXPECT_FALSE(decode_utf8("\xF8\x88\x80\x80\x80", 0));
}

TEST(Utf8, Truncated_and_stray_bytes_are_rejected) {
    EXPECT_FALSE(decode_utf8("\xE6\x97", 0));
    EXPECT_FALSE(decode_utf8("\x80", 0));
    EXPECT_FALSE(decode_utf8("\xC3\x28", 0));
    EXPECT_FALSE(decode_utf8("", 0));
}

TEST(Utf8, First_invalid_byte_is_reported_by_offset) {
    EXPECT_EQ(find_invalid_utf8("abc\xC3\xA9\xFF"), 5u);
    EXPECT_EQ(find_invalid_utf8(std::string("ok\0\xED\xA0\x80", 6)), 3u);
}

TEST(Utf8, Appending_then_decoding_round_trips_at_every_length_boundary) {
    for (const char32_t code_point :
         {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
        std::string text;
        append_utf8(text, code_point);
        const auto decoded = decode_utf8(text, 0);
        ASSERT_TRUE(decoded.has_value()) << "U+" << std::hex << static_cast<unsigned>(code_point);
        EXPECT_EQ(decoded->code_point, code_point);
        EXPECT_EQ(decoded->length, text.size());
    }
}

} // namespace
} // namespace nd::core
