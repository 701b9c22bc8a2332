// Emphasis syntax as users of the AUTOMATIC1111 web UI type it, turned into weighted spans of text.
//
//   (word)        weight x1.1; nesting multiplies: ((word)) x1.21
//   (word:1.3)    weight x1.3 (the number closes the innermost open parenthesis)
//   [word]        weight /1.1
//   \( \) \[ \] \\   the literal character
//   BREAK         (upper case, a word on its own) ends the current 75-token chunk
//
// As in that UI: a closing bracket with no opener is literal text, brackets still open at the end apply
// to everything after them, and neighbouring spans of equal weight are joined. One deliberate difference:
// a BREAK inside brackets still breaks (the UI turns it into the word "BREAK" with weight -1.1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace nd::pipeline {

struct PromptSpan {
    std::string text;
    double weight = 1.0;   // double, as the UI computes it, so equal-weight joins agree with it
    bool is_break = false; // a BREAK marker; text and weight are then unused

    friend bool operator==(const PromptSpan&, const PromptSpan&) = default;
};

// Never empty: an empty prompt gives one empty span of weight 1. Throws Error(ND_STATUS_INVALID_ARGUMENT)
// for a malformed weight such as "(word:1.2.3)", naming its byte offset (the UI fails on it too).
std::vector<PromptSpan> parse_prompt_weights(std::string_view prompt);

} // namespace nd::pipeline
