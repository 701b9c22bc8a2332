#include "pipeline/prompt_parser.hpp"

#include <gtest/gtest.h>

#include <ostream>

#include "core/error.hpp"

namespace nd::pipeline {

// Readable failures: [("text", weight)] with BREAK shown as such.
void PrintTo(const PromptSpan& span, std::ostream* out) {
    if (span.is_break) {
        *out << "BREAK";
    } else {
        out->precision(17);
        *out << "(\"" << span.text << "\", " << span.weight << ")";
    }
}

namespace {

PromptSpan span(std::string text, double weight) {
    return PromptSpan{std::move(text), weight, false};
}
PromptSpan break_span() {
    return PromptSpan{"BREAK", 1.0, true};
}

using Spans = std::vector<PromptSpan>;

TEST(PromptParser, Plain_text_has_weight_one) {
    EXPECT_EQ(parse_prompt_weights("normal text"), (Spans{span("normal text", 1.0)}));
}

TEST(PromptParser, Empty_prompt_gives_one_empty_span) {
    EXPECT_EQ(parse_prompt_weights(""), (Spans{span("", 1.0)}));
}

TEST(PromptParser, Parentheses_multiply_by_1_1) {
    EXPECT_EQ(parse_prompt_weights("an (important) word"),
              (Spans{span("an ", 1.0), span("important", 1.1), span(" word", 1.0)}));
}

TEST(PromptParser, Nested_parentheses_multiply_again) {
    EXPECT_EQ(parse_prompt_weights("((word))"), (Spans{span("word", 1.1 * 1.1)}));
    EXPECT_EQ(parse_prompt_weights("((word))")[0].weight, 1.2100000000000002); // what the UI computes
}

TEST(PromptParser, Explicit_weight_and_square_brackets) {
    EXPECT_EQ(parse_prompt_weights("a (house:1.5) [sunset]"),
              (Spans{span("a ", 1.0), span("house", 1.5), span(" ", 1.0), span("sunset", 1.0 / 1.1)}));
}

TEST(PromptParser, Weight_may_have_spaces_and_a_sign) {
    EXPECT_EQ(parse_prompt_weights("(word: 1.3 )"), (Spans{span("word", 1.3)}));
    EXPECT_EQ(parse_prompt_weights("(word:-0.5)"), (Spans{span("word", -0.5)}));
    EXPECT_EQ(parse_prompt_weights("(word:.5)"), (Spans{span("word", 0.5)}));
}

TEST(PromptParser, Unclosed_bracket_applies_to_the_rest) {
    EXPECT_EQ(parse_prompt_weights("(unbalanced"), (Spans{span("unbalanced", 1.1)}));
    EXPECT_EQ(parse_prompt_weights("a [b"), (Spans{span("a ", 1.0), span("b", 1.0 / 1.1)}));
}

TEST(PromptParser, Closing_bracket_without_opener_is_text) {
    EXPECT_EQ(parse_prompt_weights("a) b]"), (Spans{span("a) b]", 1.0)}));
    EXPECT_EQ(parse_prompt_weights("a:1.3) b"), (Spans{span("a:1.3) b", 1.0)}));
}

TEST(PromptParser, Colon_without_a_number_is_text) {
    EXPECT_EQ(parse_prompt_weights("(a:+)"), (Spans{span("a:+", 1.1)}));
    EXPECT_EQ(parse_prompt_weights("<lora:foo:0.5>"), (Spans{span("<lora:foo:0.5>", 1.0)}));
    EXPECT_EQ(parse_prompt_weights("(a:b)"), (Spans{span("a:b", 1.1)}));
}

TEST(PromptParser, Escapes_give_literal_brackets_and_backslash) {
    EXPECT_EQ(parse_prompt_weights("\\(literal\\]"), (Spans{span("(literal]", 1.0)}));
    EXPECT_EQ(parse_prompt_weights("\\[a\\) \\\\ b"), (Spans{span("[a) \\ b", 1.0)}));
    // A backslash before anything else disappears, as in the UI.
    EXPECT_EQ(parse_prompt_weights("a\\b"), (Spans{span("ab", 1.0)}));
}

TEST(PromptParser, Neighbours_of_equal_weight_are_joined) {
    EXPECT_EQ(parse_prompt_weights("(unnecessary)(parens)"), (Spans{span("unnecessaryparens", 1.1)}));
}

TEST(PromptParser, Documented_mixed_example_matches_the_ui_weights) {
    EXPECT_EQ(parse_prompt_weights("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."),
              (Spans{span("a ", 1.0), span("house", 1.5730000000000004), span(" ", 1.1), span("on", 1.0),
                     span(" a ", 1.1), span("hill", 0.55), span(", sun, ", 1.1),
                     span("sky", 1.4641000000000006), span(".", 1.1)}));
}

TEST(PromptParser, Break_splits_and_takes_the_white_space_around_it) {
    EXPECT_EQ(parse_prompt_weights("a cat  BREAK\ta dog"),
              (Spans{span("a cat", 1.0), break_span(), span("a dog", 1.0)}));
    EXPECT_EQ(parse_prompt_weights("BREAK BREAK"),
              (Spans{span("", 1.0), break_span(), span("", 1.0), break_span(), span("", 1.0)}));
}

TEST(PromptParser, Break_must_be_a_whole_upper_case_word) {
    EXPECT_EQ(parse_prompt_weights("BREAKING break aBREAK BREAK_"),
              (Spans{span("BREAKING break aBREAK BREAK_", 1.0)}));
    EXPECT_EQ(parse_prompt_weights("a,BREAK,b"), (Spans{span("a,", 1.0), break_span(), span(",b", 1.0)}));
}

TEST(PromptParser, Break_inside_brackets_still_breaks) {
    EXPECT_EQ(parse_prompt_weights("(a BREAK b)"), (Spans{span("a", 1.1), break_span(), span("b", 1.1)}));
}

TEST(PromptParser, Malformed_weight_is_rejected_with_its_offset) {
    for (const char* prompt : {"(a:1.2.3)", "(a:.)", "(a:-..)"}) {
        try {
            (void)parse_prompt_weights(prompt);
            ADD_FAILURE() << "no error for " << prompt;
        } catch (const core::Error& error) {
            EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
            EXPECT_NE(error.message().find("at byte 3"), std::string_view::npos) << error.message();
        }
    }
}

} // namespace
} // namespace nd::pipeline
