// The few Unicode facts the CLIP tokenizer needs, from generated tables instead of ICU.
//
// The reference tokenizer (Hugging Face tokenizers, behind transformers' CLIPTokenizer) normalises with
// NFC, collapses white space, lowercases per code point and splits on \p{L}, \p{N} and \s. These functions
// give the same answers from tables that tools/gen_unicode_tables.py writes (unicode_tables.g.inc).
#pragma once

#include <string>
#include <string_view>

namespace nd::text {

bool is_letter(char32_t c) noexcept;      // general category L*
bool is_number(char32_t c) noexcept;      // general category N*
bool is_white_space(char32_t c) noexcept; // the White_Space property (a regex's \s)

// Appends the lowercase form of `c` as Python's str.lower() gives it for that code point alone
// (usually one code point; U+0130 gives two).
void append_lowercase(std::u32string& out, char32_t c);

// Canonical composition (Normalization Form C) of `text`.
std::u32string to_nfc(std::u32string_view text);

// Decodes UTF-8; throws Error(ND_STATUS_INVALID_ARGUMENT) naming the byte offset of invalid input.
// `what` names the text in the message ("prompt").
std::u32string decode_utf8_text(std::string_view text, std::string_view what);

} // namespace nd::text
