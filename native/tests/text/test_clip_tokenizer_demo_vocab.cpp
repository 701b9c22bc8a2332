// The demo model's own vocabulary (tools/demo-model/vocab, written by tools/demo-model/tokenizer.py) read by
// the engine's CLIP tokenizer: the ids must be the ones the Python reference that built it produced
// (expected_ids.json beside it), so the vocabulary the demo model is trained with is the one it runs with.
#include "text/clip_tokenizer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/json.hpp"

namespace nd::text {
namespace {

std::filesystem::path demo_vocab_dir() {
    return std::filesystem::path(ND_SOURCE_DIR) / "tools" / "demo-model" / "vocab";
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        ADD_FAILURE() << "cannot read " << path.string();
        return {};
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

ClipTokenizer demo_tokenizer() {
    return ClipTokenizer::from_vocab_and_merges(read_text(demo_vocab_dir() / "vocab.json"),
                                                read_text(demo_vocab_dir() / "merges.txt"));
}

struct DemoCase {
    std::string text;
    std::vector<TokenId> ids_no_special;
    std::vector<TokenId> input_ids_77;
};

std::vector<TokenId> ids_of(const formats::JsonValue& array) {
    std::vector<TokenId> ids;
    for (const formats::JsonValue& value : array.as_array()) {
        ids.push_back(static_cast<TokenId>(*value.as_number().int64));
    }
    return ids;
}

std::vector<DemoCase> demo_cases() {
    const formats::JsonValue document = formats::parse_json(read_text(demo_vocab_dir() / "expected_ids.json"));
    std::vector<DemoCase> cases;
    for (const formats::JsonValue& entry : document.as_array()) {
        cases.push_back({entry.find("text")->as_string(), ids_of(*entry.find("ids_no_special")),
                         ids_of(*entry.find("input_ids_77"))});
    }
    return cases;
}

TEST(ClipTokenizerDemoVocab, Demo_captions_encode_to_the_ids_of_the_python_reference) {
    const ClipTokenizer tokenizer = demo_tokenizer();
    const std::vector<DemoCase> cases = demo_cases();
    ASSERT_GE(cases.size(), 4u);
    for (const DemoCase& c : cases) {
        EXPECT_EQ(tokenizer.encode(c.text), c.ids_no_special) << "text: " << c.text;
        EXPECT_EQ(tokenizer.encode_padded(c.text, 77), c.input_ids_77) << "text: " << c.text;
    }
}

TEST(ClipTokenizerDemoVocab, Caption_words_are_single_tokens_and_specials_come_last) {
    const ClipTokenizer tokenizer = demo_tokenizer();
    for (const char* word : {"circle", "square", "triangle", "background", "gradient", "purple", "corner"}) {
        EXPECT_EQ(tokenizer.encode(word).size(), 1u) << word;
    }
    EXPECT_EQ(tokenizer.token_string(tokenizer.bos_id()), "<|startoftext|>");
    EXPECT_EQ(tokenizer.token_string(tokenizer.eos_id()), "<|endoftext|>");
    EXPECT_EQ(static_cast<std::size_t>(tokenizer.eos_id()), tokenizer.vocab_size() - 1);
    EXPECT_LT(tokenizer.vocab_size(), 1000u);
}

} // namespace
} // namespace nd::text
