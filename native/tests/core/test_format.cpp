#include "core/format.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "native_diffusion.h"

namespace nd::core {
namespace {

TEST(Format, Placeholders_are_replaced_in_order) {
    EXPECT_EQ(format("{} + {} = {}", 1, 2, 3), "1 + 2 = 3");
    EXPECT_EQ(format("no placeholders"), "no placeholders");
}

TEST(Format, Doubled_braces_are_literal_braces) {
    EXPECT_EQ(format("{{}} {{{}}}", 7), "{} {7}");
}

TEST(Format, Integers_print_exactly_at_their_limits) {
    EXPECT_EQ(format("{}", std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
    EXPECT_EQ(format("{}", std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
    EXPECT_EQ(format("{}", std::size_t{0}), "0");
}

TEST(Format, Floating_point_uses_the_shortest_round_trip_form) {
    EXPECT_EQ(format("{}", 0.1), "0.1");
    EXPECT_EQ(format("{}", 1.5f), "1.5");
}

TEST(Format, Strings_of_every_kind_are_accepted) {
    const std::string owned = "owned";
    const std::string_view view = "view";
    const char* c_string = "c";
    const char* null_string = nullptr;
    EXPECT_EQ(format("{} {} {} {} {}", owned, view, c_string, "literal", null_string),
              "owned view c literal (null)");
}

TEST(Format, Bool_char_and_enum_print_as_expected) {
    EXPECT_EQ(format("{} {} {}", true, 'x', ND_STATUS_IO_ERROR), "true x 3");
}

TEST(Format, Describe_byte_never_echoes_unprintable_bytes) {
    EXPECT_EQ(describe_byte('a'), "'a'");
    EXPECT_EQ(describe_byte('\n'), "byte 0x0A");
    EXPECT_EQ(describe_byte(static_cast<char>(0xE9)), "byte 0xE9");
}

} // namespace
} // namespace nd::core
