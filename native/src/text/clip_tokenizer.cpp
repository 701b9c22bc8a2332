#include "text/clip_tokenizer.hpp"

#include <mutex>
#include <utility>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "formats/json.hpp"
#include "text/unicode.hpp"

namespace nd::text {

namespace {

constexpr std::string_view kStartOfText = "<|startoftext|>";
constexpr std::string_view kEndOfText = "<|endoftext|>";
constexpr std::string_view kEndOfWord = "</w>";
constexpr std::size_t kMaxCachedWords = 1 << 16;
// Far above any CLIP vocabulary (49408); keeps a hostile file from asking for a giant table.
constexpr std::uint64_t kMaxVocabSize = 1 << 24;

// GPT-2's reversible byte -> printable code point map: printable Latin-1 bytes stand for themselves, the
// others (controls, space, DEL, NBSP, soft hyphen) take code points from U+0100 in byte order.
char32_t byte_to_code_point(unsigned byte) noexcept {
    const auto printable = [](unsigned b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    if (printable(byte)) {
        return byte;
    }
    char32_t next = 0x100;
    for (unsigned b = 0; b < byte; ++b) {
        if (!printable(b)) {
            ++next;
        }
    }
    return next;
}

std::uint64_t pair_key(TokenId left, TokenId right) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
}

std::string to_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
        core::append_utf8(out, c);
    }
    return out;
}

bool is_other(char32_t c) noexcept {
    return !is_white_space(c) && !is_letter(c) && !is_number(c);
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at the start of `text`, or 0.
std::size_t contraction_length(std::u32string_view text) noexcept {
    if (text.size() < 2 || text[0] != U'\'') {
        return 0;
    }
    for (const std::u32string_view suffix : {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"}) {
        if (text.substr(1, suffix.size()) == suffix) {
            return 1 + suffix.size();
        }
    }
    return 0;
}

// NFC, white space runs to one space, lowercase: the reference normaliser's steps in its order.
std::u32string normalize(std::u32string_view text) {
    const std::u32string composed = to_nfc(text);
    std::u32string out;
    out.reserve(composed.size());
    bool in_space = false;
    for (const char32_t c : composed) {
        if (is_white_space(c)) {
            if (!in_space) {
                out.push_back(U' ');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        append_lowercase(out, c);
    }
    return out;
}

} // namespace

struct ClipTokenizer::WordCache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<TokenId>> words;
};

ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

BpeFiles parse_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt) {
    formats::JsonValue document;
    try {
        document = formats::parse_json(vocab_json);
    } catch (const core::Error& error) {
        throw core::with_context(error, "vocab.json");
    }
    if (document.type() != formats::JsonType::object) {
        core::throw_invalid_format("vocab.json: expected an object of token -> id, found {}",
                                   formats::json_type_description(document.type()));
    }
    const auto& members = document.as_object();
    if (members.size() > kMaxVocabSize) {
        core::throw_invalid_format("vocab.json: {} tokens is more than the {} supported", members.size(),
                                   kMaxVocabSize);
    }
    std::vector<std::string> tokens(members.size());
    std::vector<bool> seen(members.size(), false);
    for (const formats::JsonMember& member : members) {
        const formats::JsonValue& value = member.value;
        const std::optional<std::uint64_t> id =
            value.type() == formats::JsonType::number ? value.as_number().uint64 : std::nullopt;
        if (!id) {
            core::throw_invalid_format(
                "vocab.json: token \"{}\" at byte {}: the id must be a non-negative integer", member.key,
                member.key_offset);
        }
        if (*id >= members.size()) {
            core::throw_invalid_format(
                "vocab.json: token \"{}\" at byte {} has id {}, outside 0..{} (ids must be dense)",
                member.key, member.key_offset, *id, members.size() - 1);
        }
        if (seen[*id]) {
            core::throw_invalid_format("vocab.json: id {} is given to both \"{}\" and \"{}\" (byte {})", *id,
                                       tokens[*id], member.key, member.key_offset);
        }
        seen[*id] = true;
        tokens[*id] = member.key;
    }

    std::vector<std::string> merges;
    std::size_t line_number = 0;
    std::size_t blank_line = 0; // first blank line not yet followed by a merge
    for (std::size_t pos = 0; pos < merges_txt.size();) {
        std::size_t end = merges_txt.find('\n', pos);
        if (end == std::string_view::npos) {
            end = merges_txt.size();
        }
        std::string_view line = merges_txt.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line_number == 1 && line.starts_with("#version")) {
            continue;
        }
        if (line.empty()) {
            if (blank_line == 0) {
                blank_line = line_number;
            }
            continue;
        }
        if (blank_line != 0) {
            core::throw_invalid_format("merges.txt: line {} is empty", blank_line);
        }
        merges.emplace_back(line);
    }
    return {std::move(tokens), std::move(merges)};
}

ClipTokenizer ClipTokenizer::from_vocab_and_merges(std::string_view vocab_json, std::string_view merges_txt) {
    BpeFiles files = parse_vocab_and_merges(vocab_json, merges_txt);
    try {
        return ClipTokenizer(std::move(files.tokens), files.merges, "merges.txt");
    } catch (const core::Error& error) {
        throw core::with_context(error, "tokenizer files");
    }
}

ClipTokenizer ClipTokenizer::from_token_list(std::span<const std::string> tokens,
                                             std::span<const std::string> merges) {
    if (tokens.size() > kMaxVocabSize) {
        core::throw_invalid_format("tokenizer.ggml.tokens: {} tokens is more than the {} supported",
                                   tokens.size(), kMaxVocabSize);
    }
    try {
        return ClipTokenizer(std::vector<std::string>(tokens.begin(), tokens.end()), merges,
                             "tokenizer.ggml.merges");
    } catch (const core::Error& error) {
        throw core::with_context(error, "GGUF tokenizer");
    }
}

ClipTokenizer::ClipTokenizer(std::vector<std::string> tokens, std::span<const std::string> merges,
                             std::string_view source)
    : tokens_(std::move(tokens)), cache_(std::make_unique<WordCache>()) {
    ids_.reserve(tokens_.size());
    for (std::size_t id = 0; id < tokens_.size(); ++id) {
        const std::string& token = tokens_[id];
        if (token.empty()) {
            core::throw_invalid_format("token {} is empty", id);
        }
        const auto [it, inserted] = ids_.emplace(token, static_cast<TokenId>(id));
        if (!inserted) {
            core::throw_invalid_format("token \"{}\" appears twice, as ids {} and {}", token, it->second, id);
        }
    }
    const auto require = [this](std::string_view token, std::string_view why) {
        const std::optional<TokenId> id = token_id(token);
        if (!id) {
            core::throw_invalid_format("the vocabulary lacks \"{}\" ({})", token, why);
        }
        return *id;
    };
    bos_id_ = require(kStartOfText, "the start-of-text token");
    eos_id_ = require(kEndOfText, "the end-of-text token");
    for (unsigned byte = 0; byte < 256; ++byte) {
        std::string symbol;
        core::append_utf8(symbol, byte_to_code_point(byte));
        byte_token_[byte] = require(symbol, "a byte-level symbol");
        byte_end_token_[byte] =
            require(symbol + std::string(kEndOfWord), "a byte-level symbol ending a word");
    }

    merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const std::string& merge = merges[rank];
        const std::size_t space = merge.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
            merge.find(' ', space + 1) != std::string::npos) {
            core::throw_invalid_format("{}: merge {} (\"{}\") is not two tokens separated by one space",
                                       source, rank + 1, merge);
        }
        const std::string_view left = std::string_view(merge).substr(0, space);
        const std::string_view right = std::string_view(merge).substr(space + 1);
        const auto left_id = token_id(left);
        const auto right_id = token_id(right);
        const auto merged_id = token_id(std::string(left) + std::string(right));
        if (!left_id || !right_id || !merged_id) {
            core::throw_invalid_format("{}: merge {} (\"{}\") names a token missing from the vocabulary",
                                       source, rank + 1, merge);
        }
        const auto [it, inserted] = merges_.emplace(pair_key(*left_id, *right_id),
                                                    Merge{static_cast<std::uint32_t>(rank), *merged_id});
        if (!inserted) {
            core::throw_invalid_format("{}: merge {} (\"{}\") repeats merge {}", source, rank + 1, merge,
                                       it->second.rank + 1);
        }
    }
}

const std::string& ClipTokenizer::token_string(TokenId id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size()) {
        core::throw_error(ND_STATUS_NOT_FOUND, "token id {} is outside the vocabulary of {}", id,
                          tokens_.size());
    }
    return tokens_[static_cast<std::size_t>(id)];
}

std::optional<TokenId> ClipTokenizer::token_id(std::string_view token) const {
    const auto it = ids_.find(std::string(token));
    if (it == ids_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::vector<TokenId> ClipTokenizer::encode(std::string_view text) const {
    const std::u32string decoded = decode_utf8_text(text, "prompt");
    std::vector<TokenId> ids;
    // The special tokens typed in the text stand for themselves; the text between is tokenized apart.
    std::size_t begin = 0;
    while (begin <= decoded.size()) {
        std::size_t special = std::u32string::npos;
        TokenId special_id = 0;
        std::size_t special_length = 0;
        for (const auto& [name, id] :
             {std::pair{U"<|startoftext|>", bos_id_}, std::pair{U"<|endoftext|>", eos_id_}}) {
            const std::size_t found = decoded.find(name, begin);
            if (found < special) {
                special = found;
                special_id = id;
                special_length = std::char_traits<char32_t>::length(name);
            }
        }
        const std::size_t end = special == std::u32string::npos ? decoded.size() : special;
        const std::u32string normalized = normalize(std::u32string_view(decoded).substr(begin, end - begin));
        const std::u32string_view rest = normalized;
        for (std::size_t i = 0; i < rest.size();) {
            std::size_t length = contraction_length(rest.substr(i));
            if (length == 0) {
                const char32_t c = rest[i];
                if (is_white_space(c)) {
                    ++i;
                    continue;
                }
                length = 1;
                if (is_letter(c)) {
                    while (i + length < rest.size() && is_letter(rest[i + length])) {
                        ++length;
                    }
                } else if (!is_number(c)) {
                    while (i + length < rest.size() && is_other(rest[i + length])) {
                        ++length;
                    }
                }
            }
            encode_piece(rest.substr(i, length), ids);
            i += length;
        }
        if (special == std::u32string::npos) {
            break;
        }
        ids.push_back(special_id);
        begin = special + special_length;
    }
    return ids;
}

void ClipTokenizer::encode_piece(std::u32string_view piece, std::vector<TokenId>& out) const {
    const std::string word = to_utf8(piece);
    {
        std::lock_guard lock(cache_->mutex);
        const auto it = cache_->words.find(word);
        if (it != cache_->words.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<TokenId> merged = merge_word(word);
    out.insert(out.end(), merged.begin(), merged.end());
    std::lock_guard lock(cache_->mutex);
    if (cache_->words.size() >= kMaxCachedWords) {
        cache_->words.clear(); // a crude bound; prompts reuse few words
    }
    cache_->words.emplace(word, std::move(merged));
}

std::vector<TokenId> ClipTokenizer::merge_word(const std::string& utf8_word) const {
    std::vector<TokenId> symbols;
    symbols.reserve(utf8_word.size());
    for (std::size_t i = 0; i < utf8_word.size(); ++i) {
        const auto byte = static_cast<unsigned char>(utf8_word[i]);
        symbols.push_back(i + 1 == utf8_word.size() ? byte_end_token_[byte] : byte_token_[byte]);
    }
    // Apply the lowest-ranked merge present, at every place it occurs left to right, until none applies.
    while (symbols.size() > 1) {
        const Merge* best = nullptr;
        std::uint64_t best_key = 0;
        for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
            const std::uint64_t key = pair_key(symbols[i], symbols[i + 1]);
            const auto it = merges_.find(key);
            if (it != merges_.end() && (best == nullptr || it->second.rank < best->rank)) {
                best = &it->second;
                best_key = key;
            }
        }
        if (best == nullptr) {
            break;
        }
        std::size_t write = 0;
        for (std::size_t read = 0; read < symbols.size(); ++write) {
            if (read + 1 < symbols.size() && pair_key(symbols[read], symbols[read + 1]) == best_key) {
                symbols[write] = best->merged;
                read += 2;
            } else {
                symbols[write] = symbols[read];
                ++read;
            }
        }
        symbols.resize(write);
    }
    return symbols;
}

std::vector<TokenId> ClipTokenizer::encode_padded(std::string_view text, std::size_t length,
                                                  TokenId pad_id) const {
    if (length < 2) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "padded length {} leaves no room for BOS and EOS",
                          length);
    }
    std::vector<TokenId> ids = encode(text);
    if (ids.size() > length - 2) {
        ids.resize(length - 2);
    }
    std::vector<TokenId> out;
    out.reserve(length);
    out.push_back(bos_id_);
    out.insert(out.end(), ids.begin(), ids.end());
    out.push_back(eos_id_);
    out.resize(length, pad_id);
    return out;
}

} // namespace nd::text
