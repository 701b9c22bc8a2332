#include "text/clip_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "formats/json.hpp"
#include "support/fixtures.hpp"

namespace nd::text {
namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

std::filesystem::path vocab_path() {
    return testing::fixtures_dir() / "tokenizer" / "vocab.json";
}
std::filesystem::path merges_path() {
    return testing::fixtures_dir() / "tokenizer" / "merges.txt";
}
std::filesystem::path cases_path() {
    return testing::fixtures_dir() / "tokenizer_cases.json";
}

// One tokenizer for the suite: loading the 49408-token vocabulary takes a moment.
const ClipTokenizer& fixture_tokenizer() {
    static const ClipTokenizer tokenizer =
        ClipTokenizer::from_vocab_and_merges(read_text(vocab_path()), read_text(merges_path()));
    return tokenizer;
}

struct Case {
    std::string prompt;
    std::vector<TokenId> input_ids_77;
    std::vector<TokenId> ids_no_special;
};

std::vector<TokenId> ids_of(const formats::JsonValue& array) {
    std::vector<TokenId> ids;
    for (const formats::JsonValue& value : array.as_array()) {
        ids.push_back(static_cast<TokenId>(*value.as_number().int64));
    }
    return ids;
}

std::vector<Case> load_cases() {
    const formats::JsonValue document = formats::parse_json(read_text(cases_path()));
    std::vector<Case> cases;
    for (const formats::JsonValue& entry : document.as_array()) {
        cases.push_back({entry.find("prompt")->as_string(), ids_of(*entry.find("input_ids_77")),
                         ids_of(*entry.find("ids_no_special"))});
    }
    return cases;
}

std::string describe(const ClipTokenizer& tokenizer, const std::vector<TokenId>& ids) {
    std::string out;
    for (const TokenId id : ids) {
        out += std::to_string(id) + "(" + tokenizer.token_string(id) + ") ";
    }
    return out;
}

class ClipTokenizerFixture : public ::testing::Test {
protected:
    void SetUp() override {
        ND_SKIP_IF_FIXTURE_MISSING(vocab_path());
        ND_SKIP_IF_FIXTURE_MISSING(merges_path());
        ND_SKIP_IF_FIXTURE_MISSING(cases_path());
    }
};

TEST_F(ClipTokenizerFixture, Every_reference_case_matches_without_special_tokens) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    const std::vector<Case> cases = load_cases();
    ASSERT_EQ(cases.size(), 10u);
    for (const Case& c : cases) {
        const std::vector<TokenId> ids = tokenizer.encode(c.prompt);
        EXPECT_EQ(ids, c.ids_no_special)
            << "prompt: " << c.prompt << "\n got:      " << describe(tokenizer, ids)
            << "\n expected: " << describe(tokenizer, c.ids_no_special);
    }
}

TEST_F(ClipTokenizerFixture, Every_reference_case_matches_padded_to_77_with_truncation) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    for (const Case& c : load_cases()) {
        EXPECT_EQ(tokenizer.encode_padded(c.prompt, 77), c.input_ids_77) << "prompt: " << c.prompt;
    }
}

TEST_F(ClipTokenizerFixture, Special_ids_and_vocabulary_size_come_from_the_files) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    EXPECT_EQ(tokenizer.vocab_size(), 49408u);
    EXPECT_EQ(tokenizer.token_string(tokenizer.bos_id()), "<|startoftext|>");
    EXPECT_EQ(tokenizer.token_string(tokenizer.eos_id()), "<|endoftext|>");
    EXPECT_EQ(tokenizer.token_id(",</w>"), std::optional<TokenId>(267));
    EXPECT_EQ(tokenizer.token_id("no such token"), std::nullopt);
}

TEST_F(ClipTokenizerFixture, Pad_id_is_a_parameter_for_open_clip) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    const std::vector<TokenId> ids = tokenizer.encode_padded("a photo", 8, 0);
    EXPECT_EQ(ids, (std::vector<TokenId>{49406, 320, 1125, 49407, 0, 0, 0, 0}));
}

TEST_F(ClipTokenizerFixture, Padded_length_below_two_is_rejected) {
    try {
        (void)fixture_tokenizer().encode_padded("a", 1);
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
    }
}

TEST_F(ClipTokenizerFixture, Typed_special_tokens_stand_for_themselves) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    const std::vector<TokenId> a = tokenizer.encode("a");
    const std::vector<TokenId> ids = tokenizer.encode("a<|endoftext|>a");
    EXPECT_EQ(ids, (std::vector<TokenId>{a[0], tokenizer.eos_id(), a[0]}));
}

TEST_F(ClipTokenizerFixture, Decomposed_accents_are_composed_before_splitting) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    // "café" written with U+0301 COMBINING ACUTE ACCENT: NFC makes it the single letter U+00E9.
    EXPECT_EQ(tokenizer.encode("cafe\xCC\x81"), tokenizer.encode("caf\xC3\xA9"));
    // Without NFC the accent would be a separate "other" piece.
    EXPECT_EQ(tokenizer.encode("caf\xC3\xA9").size(), 1u);
}

TEST_F(ClipTokenizerFixture, Non_ascii_capitals_are_lowercased_like_python) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    EXPECT_EQ(tokenizer.encode("\xC3\x89T\xC3\x89"), tokenizer.encode("\xC3\xA9t\xC3\xA9")); // ÉTÉ
    EXPECT_EQ(tokenizer.encode("\xCE\xA9"), tokenizer.encode("\xCF\x89"));                   // Ω -> ω
}

TEST_F(ClipTokenizerFixture, Unicode_spaces_separate_words) {
    const ClipTokenizer& tokenizer = fixture_tokenizer();
    // U+3000 IDEOGRAPHIC SPACE and U+00A0 NO-BREAK SPACE are white space.
    EXPECT_EQ(tokenizer.encode("a\xE3\x80\x80photo\xC2\xA0of"), tokenizer.encode("a photo of"));
}

TEST_F(ClipTokenizerFixture, Invalid_utf8_is_rejected_with_its_offset) {
    try {
        (void)fixture_tokenizer().encode("ab\xFF");
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(error.message().find("byte 2"), std::string_view::npos) << error.message();
    }
}

TEST_F(ClipTokenizerFixture, Token_list_vocabulary_equals_file_vocabulary) {
    const ClipTokenizer& from_files = fixture_tokenizer();
    std::vector<std::string> tokens;
    for (std::size_t id = 0; id < from_files.vocab_size(); ++id) {
        tokens.push_back(from_files.token_string(static_cast<TokenId>(id)));
    }
    std::vector<std::string> merges;
    std::istringstream lines(read_text(merges_path()));
    std::string line;
    std::getline(lines, line); // "#version: 0.2"
    while (std::getline(lines, line)) {
        if (!line.empty()) {
            merges.push_back(line);
        }
    }
    const ClipTokenizer from_list = ClipTokenizer::from_token_list(tokens, merges);
    EXPECT_EQ(from_list.bos_id(), from_files.bos_id());
    EXPECT_EQ(from_list.eos_id(), from_files.eos_id());
    for (const Case& c : load_cases()) {
        EXPECT_EQ(from_list.encode(c.prompt), c.ids_no_special) << "prompt: " << c.prompt;
    }
}

TEST_F(ClipTokenizerFixture, Token_string_outside_the_vocabulary_is_not_found) {
    try {
        (void)fixture_tokenizer().token_string(49408);
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_NOT_FOUND);
    }
}

// A minimal valid vocabulary: the 512 byte-level symbols, merged tokens, then the two specials.
struct SmallVocab {
    std::vector<std::string> tokens;
    std::vector<std::string> merges;
};

SmallVocab small_vocab() {
    SmallVocab v;
    std::vector<std::string> base;
    char32_t next = 0x100; // GPT-2's byte map: unprintable bytes take code points from U+0100 on
    for (unsigned b = 0; b < 256; ++b) {
        const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        const char32_t cp = printable ? b : next++;
        std::string s;
        if (cp < 0x80) {
            s.push_back(static_cast<char>(cp));
        } else {
            s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
        base.push_back(s);
    }
    v.tokens = base;
    for (const std::string& s : base) {
        v.tokens.push_back(s + "</w>");
    }
    v.tokens.push_back("ab");
    v.tokens.push_back("ab</w>");
    v.tokens.push_back("<|startoftext|>");
    v.tokens.push_back("<|endoftext|>");
    v.merges = {"a b", "a b</w>"};
    return v;
}

std::string vocab_json(const std::vector<std::string>& tokens) {
    std::string json = "{";
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        std::string escaped;
        for (const char c : tokens[i]) {
            if (c == '"' || c == '\\') {
                escaped.push_back('\\');
            }
            escaped.push_back(c);
        }
        if (i != 0) {
            json += ',';
        }
        json += '"';
        json += escaped;
        json += "\":";
        json += std::to_string(i);
    }
    return json + "}";
}

std::string load_error(std::string_view vocab, std::string_view merges) {
    try {
        (void)ClipTokenizer::from_vocab_and_merges(vocab, merges);
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        return std::string(error.message());
    }
    ADD_FAILURE() << "loaded without an error";
    return {};
}

std::string list_error(const std::vector<std::string>& tokens, const std::vector<std::string>& merges) {
    try {
        (void)ClipTokenizer::from_token_list(tokens, merges);
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        return std::string(error.message());
    }
    ADD_FAILURE() << "loaded without an error";
    return {};
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "message: " << (text)

TEST(ClipTokenizerLoading, Small_vocabulary_merges_by_rank) {
    const SmallVocab v = small_vocab();
    const ClipTokenizer tokenizer =
        ClipTokenizer::from_vocab_and_merges(vocab_json(v.tokens), "#version: 0.2\na b\na b</w>\n");
    EXPECT_EQ(tokenizer.encode("AB ab abab"), (std::vector<TokenId>{513, 513, 512, 513}));
    EXPECT_EQ(tokenizer.token_string(512), "ab");
}

TEST(ClipTokenizerLoading, Malformed_json_is_rejected_naming_vocab_json) {
    EXPECT_CONTAINS(load_error("{\"a\": 0", "#version: 0.2\n"), "vocab.json");
}

TEST(ClipTokenizerLoading, Vocab_that_is_not_an_object_is_rejected) {
    EXPECT_CONTAINS(load_error("[1, 2]", ""), "expected an object");
}

TEST(ClipTokenizerLoading, Non_integer_id_is_rejected_naming_the_token) {
    EXPECT_CONTAINS(load_error("{\"a\": 0, \"b\": \"x\"}", ""), "token \"b\"");
    EXPECT_CONTAINS(load_error("{\"a\": 0, \"b\": -1}", ""), "non-negative integer");
}

TEST(ClipTokenizerLoading, Ids_with_gaps_or_repeats_are_rejected) {
    EXPECT_CONTAINS(load_error("{\"a\": 0, \"b\": 5}", ""), "dense");
    EXPECT_CONTAINS(load_error("{\"a\": 1, \"b\": 1}", ""), "id 1 is given to both");
}

TEST(ClipTokenizerLoading, Duplicate_token_in_json_is_rejected) {
    EXPECT_CONTAINS(load_error("{\"a\": 0, \"a\": 1}", ""), "vocab.json: JSON: duplicate key \"a\"");
}

TEST(ClipTokenizerLoading, Missing_special_tokens_are_rejected) {
    SmallVocab v = small_vocab();
    v.tokens.pop_back(); // <|endoftext|>
    EXPECT_CONTAINS(load_error(vocab_json(v.tokens), ""), "<|endoftext|>");
    v = small_vocab();
    v.tokens.erase(v.tokens.end() - 2); // <|startoftext|>
    EXPECT_CONTAINS(list_error(v.tokens, {}), "<|startoftext|>");
}

TEST(ClipTokenizerLoading, Missing_byte_symbol_is_rejected) {
    SmallVocab v = small_vocab();
    v.tokens[0] = "zz"; // "\u0100", the symbol of byte 0
    EXPECT_CONTAINS(list_error(v.tokens, {}), "\"\xC4\x80\" (a byte-level symbol)");
}

TEST(ClipTokenizerLoading, Malformed_merge_lines_are_rejected_with_their_number) {
    const SmallVocab v = small_vocab();
    const std::string json = vocab_json(v.tokens);
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\na b\nab\n"), "merge 2 (\"ab\")");
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\na  b\n"), "two tokens separated by one space");
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\na b c\n"), "merge 1");
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\nq r\n"), "missing from the vocabulary");
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\na b\na b\n"), "repeats merge 1");
    EXPECT_CONTAINS(load_error(json, "#version: 0.2\na b\n\na b</w>\n"), "line 3 is empty");
}

TEST(ClipTokenizerLoading, Duplicate_or_empty_tokens_in_a_list_are_rejected) {
    SmallVocab v = small_vocab();
    v.tokens.push_back("ab");
    EXPECT_CONTAINS(list_error(v.tokens, v.merges), "\"ab\" appears twice");
    v = small_vocab();
    v.tokens.push_back("");
    EXPECT_CONTAINS(list_error(v.tokens, v.merges), "empty");
}

TEST(ClipTokenizerLoading, Crlf_merges_file_loads) {
    const SmallVocab v = small_vocab();
    const ClipTokenizer tokenizer =
        ClipTokenizer::from_vocab_and_merges(vocab_json(v.tokens), "#version: 0.2\r\na b\r\na b</w>\r\n");
    EXPECT_EQ(tokenizer.encode("ab"), std::vector<TokenId>{513});
}

} // namespace
} // namespace nd::text
