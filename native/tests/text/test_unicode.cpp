#include "text/unicode.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace nd::text {
namespace {

std::u32string lower(std::u32string_view text) {
    std::u32string out;
    for (const char32_t c : text) {
        append_lowercase(out, c);
    }
    return out;
}

TEST(Unicode, Letters_numbers_and_white_space_follow_the_categories) {
    EXPECT_TRUE(is_letter(U'a'));
    EXPECT_TRUE(is_letter(U'\u00E9'));  // é
    EXPECT_TRUE(is_letter(U'\u65E5'));  // 日
    EXPECT_TRUE(is_letter(U'\u02B0'));  // modifier letter (Lm)
    EXPECT_FALSE(is_letter(U'\u0301')); // combining accent (Mn)
    EXPECT_FALSE(is_letter(U'1'));
    EXPECT_TRUE(is_number(U'7'));
    EXPECT_TRUE(is_number(U'\u0663')); // Arabic-Indic three (Nd)
    EXPECT_TRUE(is_number(U'\u00B2')); // superscript two (No)
    EXPECT_TRUE(is_number(U'\u2167')); // Roman numeral eight (Nl)
    EXPECT_FALSE(is_number(U'x'));
    EXPECT_TRUE(is_white_space(U'\t'));
    EXPECT_TRUE(is_white_space(U'\u00A0'));
    EXPECT_TRUE(is_white_space(U'\u3000'));
    EXPECT_FALSE(is_white_space(U'\u200B')); // zero width space is not White_Space
    EXPECT_FALSE(is_letter(U'\U0001F642'));  // emoji: other
    EXPECT_FALSE(is_number(U'\U0001F642'));
}

TEST(Unicode, Lowercase_matches_python_str_lower) {
    EXPECT_EQ(lower(U"ABC xyz"), U"abc xyz");
    EXPECT_EQ(lower(U"\u00C9\u03A3\u0416"), U"\u00E9\u03C3\u0436"); // ÉΣЖ
    EXPECT_EQ(lower(U"\u0130"), U"i\u0307");                        // İ lowers to two code points
    EXPECT_EQ(lower(U"\uFF21"), U"\uFF41");                         // fullwidth A
    EXPECT_EQ(lower(U"\u0100\u0101\u0102"), U"\u0101\u0101\u0103"); // alternating upper/lower block
    EXPECT_EQ(lower(U"\u1E9E"), U"\u00DF");                         // capital sharp s
    EXPECT_EQ(lower(U"\u65E5\U0001F642"), U"\u65E5\U0001F642");     // no case
}

TEST(Unicode, Nfc_composes_and_orders_marks) {
    EXPECT_EQ(to_nfc(U"cafe\u0301"), U"caf\u00E9");
    EXPECT_EQ(to_nfc(U"\u1100\u1161\u11A8"), U"\uAC01");  // Hangul jamo to a syllable
    EXPECT_EQ(to_nfc(U"a\u0307\u0323"), U"\u1EA1\u0307"); // marks reordered, then composed
    EXPECT_EQ(to_nfc(U"a\u0323\u0307"), U"\u1EA1\u0307");
    EXPECT_EQ(to_nfc(U"\u212B"), U"\u00C5");                         // Angstrom sign: singleton
    EXPECT_EQ(to_nfc(U"\u0958"), U"\u0915\u093C");                   // composition exclusion
    EXPECT_EQ(to_nfc(U"\u00E9\u65E5 plain"), U"\u00E9\u65E5 plain"); // already NFC
    EXPECT_EQ(to_nfc(U"e\u0301\u0301"), U"\u00E9\u0301");            // the second accent is blocked
}

TEST(Unicode, Invalid_utf8_is_reported_with_offset) {
    EXPECT_EQ(decode_utf8_text("a\xC3\xA9", "prompt"), U"a\u00E9");
    try {
        (void)decode_utf8_text("ab\xC3", "prompt");
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_EQ(error.message(), "prompt: invalid UTF-8 at byte 2");
    }
}

} // namespace
} // namespace nd::text
