#include "model_files/json_file.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

nd_status status_of(const std::function<void()>& action, std::string* message = nullptr) {
    try {
        action();
    } catch (const core::Error& error) {
        if (message != nullptr) {
            *message = std::string(error.message());
        }
        return error.status();
    }
    return ND_STATUS_OK;
}

TEST(JsonFile, Config_is_parsed_and_string_members_read) {
    testing::TempDir dir;
    const auto path = dir.write("config.json", R"({"hidden_act": "gelu", "layers": 3})");
    const formats::JsonValue config = read_json_file(path);
    EXPECT_EQ(json_string_member(config, "hidden_act"), "gelu");
    EXPECT_FALSE(json_string_member(config, "layers")); // a number, not a string
    EXPECT_FALSE(json_string_member(config, "absent"));
}

TEST(JsonFile, Malformed_json_names_the_path) {
    testing::TempDir dir;
    const auto path = dir.write("model_index.json", "{\"unet\": ");
    std::string message;
    EXPECT_EQ(status_of([&] { (void)read_json_file(path); }, &message), ND_STATUS_INVALID_FORMAT);
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

TEST(JsonFile, Missing_file_is_an_io_error_and_oversized_one_is_refused) {
    testing::TempDir dir;
    EXPECT_EQ(status_of([&] { (void)read_text_file(dir.path() / "absent.json"); }), ND_STATUS_IO_ERROR);
    const auto path = dir.write("big.txt", std::string(100, 'x'));
    EXPECT_EQ(read_text_file(path, 100).size(), 100u);
    EXPECT_EQ(status_of([&] { (void)read_text_file(path, 99); }), ND_STATUS_INVALID_FORMAT);
}

} // namespace
} // namespace nd::model_files
