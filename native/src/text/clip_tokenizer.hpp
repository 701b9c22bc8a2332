// CLIP's byte-level BPE tokenizer, as Stable Diffusion's text encoders expect their input ids.
//
// Matches transformers' CLIPTokenizer (the Hugging Face tokenizers implementation): the text is normalised
// (NFC, runs of white space become one space, lowercase), split by CLIP's pattern (the contractions 's 't
// 're 've 'm 'll 'd, runs of letters, single digits, runs of anything else but white space), each piece's
// UTF-8 bytes are mapped to printable code points, "</w>" marks the end of the piece, and the merges are
// applied lowest rank first. "<|startoftext|>" and "<|endoftext|>" typed in the text are those tokens.
//
// transformers has two other cleanups that this deliberately does not follow: its Python CLIPTokenizer with
// ftfy installed straightens curly quotes, and without ftfy it runs BERT's BasicTokenizer, which puts every
// CJK ideograph in a word of its own. The reference ids (shared/fixtures/tokenizer_cases.json) keep
// "“" and tokenize "日本語" as one word, so they come from the tokenizers implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nd::text {

using TokenId = std::int32_t;

// vocab.json and merges.txt as the token list (in id order) and the merge list (by rank) that a GGUF stores.
struct BpeFiles {
    std::vector<std::string> tokens;
    std::vector<std::string> merges;
};

// Reads the two files with the checks of ClipTokenizer::from_vocab_and_merges on their syntax (JSON, dense ids,
// the "#version" line, blank lines); the vocabulary itself is checked when a tokenizer is made from it.
BpeFiles parse_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt);

class ClipTokenizer {
public:
    // From the files Stable Diffusion repositories ship under tokenizer/: vocab.json (token -> id, ids
    // dense from 0) and merges.txt (an optional "#version" line, then one "left right" pair per line, by
    // rank). Throws Error(ND_STATUS_INVALID_FORMAT) naming the file and the line or token at fault.
    static ClipTokenizer from_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt);

    // From a token list in id order and "left right" merges by rank, as a GGUF stores them
    // (tokenizer.ggml.tokens, tokenizer.ggml.merges). Same checks and errors.
    static ClipTokenizer from_token_list(std::span<const std::string> tokens,
                                         std::span<const std::string> merges);

    ClipTokenizer(ClipTokenizer&&) noexcept;
    ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
    ~ClipTokenizer();

    // The ids of `text` without BOS/EOS, never truncated. Throws Error(ND_STATUS_INVALID_ARGUMENT) on
    // invalid UTF-8. Thread-safe (the word cache is locked).
    std::vector<TokenId> encode(std::string_view text) const;

    // BOS, the first length - 2 ids of `text`, EOS, then `pad_id` up to `length` (the encoder input:
    // length 77; SD 1.x pads with EOS, SD 2.x's OpenCLIP with 0). `length` must be at least 2.
    std::vector<TokenId> encode_padded(std::string_view text, std::size_t length, TokenId pad_id) const;
    std::vector<TokenId> encode_padded(std::string_view text, std::size_t length) const {
        return encode_padded(text, length, eos_id());
    }

    TokenId bos_id() const noexcept { return bos_id_; }
    TokenId eos_id() const noexcept { return eos_id_; }
    std::size_t vocab_size() const noexcept { return tokens_.size(); }

    // The token's string in the vocabulary ("photo</w>", "Ã©"); throws Error(ND_STATUS_NOT_FOUND) for an
    // id outside the vocabulary.
    const std::string& token_string(TokenId id) const;
    // The id of a vocabulary string such as ",</w>"; nullopt if absent.
    std::optional<TokenId> token_id(std::string_view token) const;

private:
    struct WordCache;

    ClipTokenizer(std::vector<std::string> tokens, std::span<const std::string> merges,
                  std::string_view source);

    void encode_piece(std::u32string_view piece, std::vector<TokenId>& out) const;
    std::vector<TokenId> merge_word(const std::string& utf8_word) const;

    std::vector<std::string> tokens_;
    std::unordered_map<std::string, TokenId> ids_;
    // (left id << 32 | right id) -> rank and the merged token's id.
    struct Merge {
        std::uint32_t rank;
        TokenId merged;
    };
    std::unordered_map<std::uint64_t, Merge> merges_;
    TokenId byte_token_[256] = {};     // the token of each byte inside a word
    TokenId byte_end_token_[256] = {}; // the same byte ending a word ("</w>" appended)
    TokenId bos_id_ = 0;
    TokenId eos_id_ = 0;
    std::unique_ptr<WordCache> cache_;
};

} // namespace nd::text
