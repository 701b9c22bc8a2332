#include "model_files/tokenizer_vocab.hpp"

#include <gtest/gtest.h>

#include <map>

#include "core/error.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values](const char* name) -> std::optional<std::string> {
        auto it = values.find(name);
        return it == values.end() ? std::nullopt : std::optional(it->second);
    };
}

void write_vocab(const TempDir& dir, const std::string& folder, const std::string& marker) {
    dir.write(folder + "/vocab.json", "{\"" + marker + "\": 0}");
    dir.write(folder + "/merges.txt", "#version: 0.2\n" + marker + "\n");
}

TEST(TokenizerVocab, Cache_folder_follows_nd_cache_dir_then_xdg_then_home) {
    EXPECT_EQ(tokenizer_cache_dir("clip", env_of({{"ND_CACHE_DIR", "/a"}, {"XDG_CACHE_HOME", "/b"}, {"HOME", "/c"}})),
              fs::path("/a/tokenizers/clip"));
    EXPECT_EQ(tokenizer_cache_dir("clip", env_of({{"XDG_CACHE_HOME", "/b"}, {"HOME", "/c"}})),
              fs::path("/b/nativediffusion/tokenizers/clip"));
    EXPECT_EQ(tokenizer_cache_dir("clip", env_of({{"HOME", "/c"}})),
              fs::path("/c/.cache/nativediffusion/tokenizers/clip"));
    EXPECT_THROW((void)tokenizer_cache_dir("clip", env_of({})), core::Error);
}

TEST(TokenizerVocab, Fixture_tokenizer_directory_is_read_whole) {
    const fs::path dir = testing::fixtures_dir() / "tokenizer";
    ND_SKIP_IF_FIXTURE_MISSING(dir / "vocab.json");
    TokenizerSearch search;
    search.explicit_directory = dir;
    search.env = env_of({});
    const TokenizerVocab vocab = find_tokenizer_vocab(search);
    EXPECT_EQ(vocab.source, TokenizerSource::ExplicitDirectory);
    EXPECT_EQ(vocab.location, dir.string());
    EXPECT_EQ(vocab.vocab_json.size(), fs::file_size(dir / "vocab.json"));
    EXPECT_TRUE(vocab.merges_text.starts_with("#version: 0.2\n"));
    EXPECT_NE(vocab.vocab_json.find("\"<|endoftext|>\": 49407"), std::string::npos);
}

TEST(TokenizerVocab, Search_order_is_model_file_diffusers_folder_directory_cache) {
    TempDir dir;
    write_vocab(dir, "pipe/tokenizer", "pipe");
    write_vocab(dir, "explicit", "explicit");
    write_vocab(dir, "cache/tokenizers/clip-vit-large-patch14", "cache");
    TokenizerSearch search;
    search.env = env_of({{"ND_CACHE_DIR", (dir.path() / "cache").string()}});
    EXPECT_EQ(find_tokenizer_vocab(search).source, TokenizerSource::Cache);
    EXPECT_NE(find_tokenizer_vocab(search).vocab_json.find("cache"), std::string::npos);
    search.explicit_directory = dir.path() / "explicit";
    EXPECT_EQ(find_tokenizer_vocab(search).source, TokenizerSource::ExplicitDirectory);
    search.diffusers_folder = dir.path() / "pipe";
    EXPECT_EQ(find_tokenizer_vocab(search).source, TokenizerSource::DiffusersFolder);
    EXPECT_NE(find_tokenizer_vocab(search).merges_text.find("pipe"), std::string::npos);
    TokenizerVocab embedded;
    embedded.tokens = {"a", "b"};
    embedded.merges = {"a b"};
    search.embedded = embedded;
    const TokenizerVocab first = find_tokenizer_vocab(search);
    EXPECT_EQ(first.source, TokenizerSource::ModelFile);
    EXPECT_EQ(first.tokens.size(), 2u);
}

TEST(TokenizerVocab, Nothing_found_is_not_found_listing_the_places_and_the_remedies) {
    TempDir dir;
    dir.write("explicit/vocab.json", "{}"); // merges.txt missing: not a vocabulary
    TokenizerSearch search;
    search.explicit_directory = dir.path() / "explicit";
    search.env = env_of({{"HOME", (dir.path() / "home").string()}});
    try {
        (void)find_tokenizer_vocab(search);
        FAIL() << "found a vocabulary";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_NOT_FOUND);
        const std::string message(error.message());
        EXPECT_NE(message.find((dir.path() / "explicit").string()), std::string::npos) << message;
        EXPECT_NE(message.find("home/.cache/nativediffusion/tokenizers/clip-vit-large-patch14"), std::string::npos)
            << message;
        EXPECT_NE(message.find("nd tokenizer fetch"), std::string::npos) << message;
        EXPECT_NE(message.find("--tokenizer DIR"), std::string::npos) << message;
    }
}

} // namespace
} // namespace nd::model_files
