// The C ABI as a binding sees it: only native_diffusion.h and libnativediffusion.so.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "native_diffusion.h"
#include "support/fixtures.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

extern "C" {
const char* c_caller_status_name(int status);
const char* c_caller_dtype_name(int dtype);
nd_status c_caller_create_context_with_level(int min_log_level, nd_context** out_context);
}

namespace {

using nd::testing::TempDir;
using nd::testing::TensorSpec;
using nd::testing::valid_safetensors;

std::string last_error() {
    return nd_last_error();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// ------------------------------------------------------------------ version and errors

TEST(CApi, Versions_match_the_header_and_the_project) {
    EXPECT_EQ(nd_abi_version(), static_cast<uint32_t>(ND_ABI_VERSION));
    EXPECT_STREQ(nd_version(), ND_EXPECTED_VERSION);
}

TEST(CApi, Every_status_has_its_stable_name) {
    const std::pair<nd_status, const char*> names[] = {
        {ND_STATUS_OK, "ND_STATUS_OK"},
        {ND_STATUS_INVALID_ARGUMENT, "ND_STATUS_INVALID_ARGUMENT"},
        {ND_STATUS_OUT_OF_MEMORY, "ND_STATUS_OUT_OF_MEMORY"},
        {ND_STATUS_IO_ERROR, "ND_STATUS_IO_ERROR"},
        {ND_STATUS_INVALID_FORMAT, "ND_STATUS_INVALID_FORMAT"},
        {ND_STATUS_UNSUPPORTED, "ND_STATUS_UNSUPPORTED"},
        {ND_STATUS_NOT_FOUND, "ND_STATUS_NOT_FOUND"},
        {ND_STATUS_CANCELLED, "ND_STATUS_CANCELLED"},
        {ND_STATUS_INTERNAL_ERROR, "ND_STATUS_INTERNAL_ERROR"},
    };
    for (const auto& [status, name] : names) {
        EXPECT_STREQ(nd_status_name(status), name);
    }
    EXPECT_STREQ(c_caller_status_name(9), "?");
    EXPECT_STREQ(c_caller_status_name(-1), "?");
}

TEST(CApi, Dtype_names_are_the_file_spellings) {
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_F32), "F32");
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_BF16), "BF16");
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_F8_E4M3), "F8_E4M3");
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_BOOL), "BOOL");
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_Q4_K), "Q4_K");
    EXPECT_STREQ(nd_dtype_name(ND_DTYPE_Q8_K), "Q8_K");
    EXPECT_STREQ(c_caller_dtype_name(26), "?");
    EXPECT_STREQ(c_caller_dtype_name(-3), "?");
}

TEST(CApi, Failure_sets_the_last_error_and_success_leaves_it) {
    EXPECT_EQ(nd_get_system_info(nullptr), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(last_error(), "nd_get_system_info: out is NULL");

    nd_build_info info{};
    info.struct_size = sizeof(info);
    EXPECT_EQ(nd_get_build_info(&info), ND_STATUS_OK);
    EXPECT_EQ(last_error(), "nd_get_system_info: out is NULL") << "a successful call keeps the last error";
}

TEST(CApi, Last_error_is_per_thread) {
    EXPECT_EQ(nd_context_create(nullptr, nullptr), ND_STATUS_INVALID_ARGUMENT);
    const std::string here = last_error();
    EXPECT_FALSE(here.empty());

    std::string other_before;
    std::string other_after;
    std::thread([&] {
        other_before = nd_last_error();
        size_t offset = 0, size = 0;
        (void)nd_struct_layout("no_such_struct", nullptr, &offset, &size);
        other_after = nd_last_error();
    }).join();
    EXPECT_EQ(other_before, "") << "a new thread starts without an error";
    EXPECT_TRUE(contains(other_after, "no_such_struct")) << other_after;
    EXPECT_EQ(last_error(), here) << "another thread's failure does not change this thread's message";
}

// ------------------------------------------------------------------ build and system information

TEST(CApi, Build_info_describes_this_build) {
    nd_build_info info{};
    info.struct_size = sizeof(info);
    ASSERT_EQ(nd_get_build_info(&info), ND_STATUS_OK) << last_error();
    EXPECT_EQ(info.struct_size, sizeof(info));
    EXPECT_STREQ(info.version, nd_version());
    ASSERT_NE(info.compiler, nullptr);
    EXPECT_TRUE(contains(info.compiler, "GNU") || contains(info.compiler, "Clang")) << info.compiler;
    EXPECT_STREQ(info.build_type, ND_EXPECTED_BUILD_TYPE);
    ASSERT_NE(info.cxx_flags, nullptr);
    EXPECT_FALSE(contains(info.cxx_flags, "-march=native")) << "the library must stay portable";
    EXPECT_TRUE(info.backends & ND_BACKEND_FLAGS_CPU);
}

TEST(CApi, System_info_values_are_sane) {
    nd_system_info info{};
    info.struct_size = sizeof(info);
    ASSERT_EQ(nd_get_system_info(&info), ND_STATUS_OK) << last_error();
    ASSERT_NE(info.cpu_name, nullptr);
    EXPECT_GT(std::strlen(info.cpu_name), 0u);
    EXPECT_GE(info.logical_cores, 1u);
    EXPECT_GE(info.physical_cores, 1u);
    EXPECT_LE(info.physical_cores, info.logical_cores);
    EXPECT_GT(info.total_memory_bytes, 0u);
    EXPECT_LE(info.available_memory_bytes, info.total_memory_bytes);
    EXPECT_LT(info.cpu_features, 2048u) << "only nd_cpu_feature_flags bits";
#if defined(__x86_64__)
    EXPECT_FALSE(info.cpu_features & ND_CPU_FEATURE_FLAGS_NEON);
#elif defined(__aarch64__)
    EXPECT_TRUE(info.cpu_features & ND_CPU_FEATURE_FLAGS_NEON);
#endif
}

// A caller compiled against a header whose nd_system_info ended after cpu_features.
struct old_system_info {
    uint32_t struct_size;
    uint64_t cpu_features;
};

TEST(CApi, Older_smaller_output_struct_is_filled_up_to_its_size) {
    nd_system_info current{};
    current.struct_size = sizeof(current);
    ASSERT_EQ(nd_get_system_info(&current), ND_STATUS_OK);

    struct {
        old_system_info old;
        unsigned char guard[64];
    } buffer;
    std::memset(&buffer, 0xAB, sizeof(buffer));
    buffer.old.struct_size = sizeof(old_system_info);
    ASSERT_EQ(nd_get_system_info(reinterpret_cast<nd_system_info*>(&buffer.old)), ND_STATUS_OK)
        << last_error();
    EXPECT_EQ(buffer.old.struct_size, sizeof(old_system_info)) << "the caller's struct_size is kept";
    EXPECT_EQ(buffer.old.cpu_features, current.cpu_features);
    for (unsigned char byte : buffer.guard) {
        ASSERT_EQ(byte, 0xAB) << "nothing is written past the caller's struct";
    }
}

TEST(CApi, Struct_size_too_small_or_null_is_rejected) {
    nd_system_info info{};
    info.struct_size = 0;
    EXPECT_EQ(nd_get_system_info(&info), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(last_error(), "out->struct_size is 0")) << last_error();
    EXPECT_EQ(nd_get_build_info(nullptr), ND_STATUS_INVALID_ARGUMENT);
}

// ------------------------------------------------------------------ struct layout

TEST(CApi, Struct_layout_agrees_with_the_compiler) {
    size_t offset = 1, size = 0;
    ASSERT_EQ(nd_struct_layout("nd_system_info", nullptr, &offset, &size), ND_STATUS_OK) << last_error();
    EXPECT_EQ(offset, 0u);
    EXPECT_EQ(size, sizeof(nd_system_info));

    ASSERT_EQ(nd_struct_layout("nd_system_info", "total_memory_bytes", &offset, &size), ND_STATUS_OK);
    EXPECT_EQ(offset, offsetof(nd_system_info, total_memory_bytes));
    EXPECT_EQ(size, sizeof(uint64_t));

    ASSERT_EQ(nd_struct_layout("nd_tensor_info", "shape", &offset, &size), ND_STATUS_OK);
    EXPECT_EQ(offset, offsetof(nd_tensor_info, shape));
    EXPECT_EQ(size, sizeof(const int64_t*));

    ASSERT_EQ(nd_struct_layout("nd_context_params", "min_log_level", &offset, &size), ND_STATUS_OK);
    EXPECT_EQ(offset, offsetof(nd_context_params, min_log_level));
    EXPECT_EQ(size, sizeof(nd_log_level));

    ASSERT_EQ(nd_struct_layout("nd_build_info", "backends", &offset, &size), ND_STATUS_OK);
    EXPECT_EQ(offset, offsetof(nd_build_info, backends));
}

TEST(CApi, Struct_layout_of_unknown_names_is_not_found) {
    size_t offset = 0, size = 0;
    EXPECT_EQ(nd_struct_layout("nd_nothing", nullptr, &offset, &size), ND_STATUS_NOT_FOUND);
    EXPECT_TRUE(contains(last_error(), "no public struct is named 'nd_nothing'")) << last_error();
    EXPECT_EQ(nd_struct_layout("nd_tensor_info", "nope", &offset, &size), ND_STATUS_NOT_FOUND);
    EXPECT_TRUE(contains(last_error(), "struct 'nd_tensor_info' has no field 'nope'")) << last_error();
    EXPECT_EQ(nd_struct_layout(nullptr, nullptr, &offset, &size), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(nd_struct_layout("nd_tensor_info", nullptr, nullptr, &size), ND_STATUS_INVALID_ARGUMENT);
}

// ------------------------------------------------------------------ contexts and logging

struct LogRecord {
    void* user_data_seen = nullptr;
    std::vector<std::pair<nd_log_level, std::string>> messages;
};

void record_log(nd_log_level level, const char* message, void* user_data) {
    auto* record = static_cast<LogRecord*>(user_data);
    record->user_data_seen = user_data;
    record->messages.emplace_back(level, message);
}

// A context owned by the test.
struct ContextDeleter {
    void operator()(nd_context* context) const { nd_context_free(context); }
};
using Context = std::unique_ptr<nd_context, ContextDeleter>;

struct SafetensorsDeleter {
    void operator()(nd_safetensors* file) const { nd_safetensors_free(file); }
};
using Safetensors = std::unique_ptr<nd_safetensors, SafetensorsDeleter>;

Context make_context(LogRecord* record, nd_log_level min_level) {
    nd_context_params params{};
    params.struct_size = sizeof(params);
    EXPECT_EQ(nd_context_params_init(&params), ND_STATUS_OK);
    params.log_callback = record_log;
    params.log_user_data = record;
    params.min_log_level = min_level;
    nd_context* context = nullptr;
    EXPECT_EQ(nd_context_create(&params, &context), ND_STATUS_OK) << last_error();
    return Context(context);
}

TEST(CApi, Context_params_init_fills_the_defaults) {
    nd_context_params params;
    std::memset(&params, 0xCD, sizeof(params));
    params.struct_size = sizeof(params);
    ASSERT_EQ(nd_context_params_init(&params), ND_STATUS_OK);
    EXPECT_EQ(params.struct_size, sizeof(params));
    EXPECT_EQ(params.log_callback, nullptr);
    EXPECT_EQ(params.log_user_data, nullptr);
    EXPECT_EQ(params.min_log_level, ND_LOG_LEVEL_INFO);

    EXPECT_EQ(nd_context_params_init(nullptr), ND_STATUS_INVALID_ARGUMENT);
    nd_context_params unset{};
    EXPECT_EQ(nd_context_params_init(&unset), ND_STATUS_INVALID_ARGUMENT)
        << "struct_size 0 means it was not set";
}

// A caller compiled when nd_context_params had only a callback.
struct old_context_params {
    uint32_t struct_size;
    nd_log_callback log_callback;
};

TEST(CApi, Older_smaller_params_struct_takes_defaults_for_missing_fields) {
    old_context_params old{};
    old.struct_size = sizeof(old);
    old.log_callback = record_log;
    nd_context* raw = nullptr;
    ASSERT_EQ(nd_context_create(reinterpret_cast<const nd_context_params*>(&old), &raw), ND_STATUS_OK)
        << last_error();
    const Context context(raw);
    // Without user_data the callback would receive NULL: do not log through it, just prove it was created.
    EXPECT_NE(context, nullptr);
}

TEST(CApi, Context_create_rejects_bad_arguments) {
    nd_context* context = reinterpret_cast<nd_context*>(0x1);
    EXPECT_EQ(nd_context_create(nullptr, &context), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(context, nullptr) << "the out-parameter is cleared on failure";
    EXPECT_EQ(last_error(), "nd_context_create: params is NULL");

    nd_context_params params{};
    params.struct_size = sizeof(params);
    ASSERT_EQ(nd_context_params_init(&params), ND_STATUS_OK);
    EXPECT_EQ(nd_context_create(&params, nullptr), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(last_error(), "nd_context_create: out_context is NULL");

    EXPECT_EQ(c_caller_create_context_with_level(6, &context), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(last_error(), "min_log_level 6 is not an nd_log_level")) << last_error();
    EXPECT_EQ(c_caller_create_context_with_level(-1, &context), ND_STATUS_INVALID_ARGUMENT);
    ASSERT_EQ(c_caller_create_context_with_level(ND_LOG_LEVEL_NONE, &context), ND_STATUS_OK);
    nd_context_free(context);
    nd_context_free(nullptr);
}

// ------------------------------------------------------------------ safetensors

const std::vector<TensorSpec> kTensors = {
    {"a.weight", "F16", {2, 3}, 2},
    {"position_ids", "I64", {1, 4}, 8},
    {"scalar", "F32", {}, 4},
};

Safetensors open_file(nd_context* context, const std::string& path) {
    nd_safetensors* file = nullptr;
    EXPECT_EQ(nd_safetensors_open(context, path.c_str(), &file), ND_STATUS_OK) << last_error();
    return Safetensors(file);
}

TEST(CApi, Safetensors_lists_tensors_and_metadata) {
    const TempDir dir;
    const std::string bytes = valid_safetensors(kTensors, {{"format", "pt"}, {"author", "me"}});
    const Safetensors file = open_file(nullptr, dir.write("m.safetensors", bytes).string());
    ASSERT_NE(file, nullptr);

    ASSERT_EQ(nd_safetensors_tensor_count(file.get()), 3u);
    nd_tensor_info info{};
    info.struct_size = sizeof(info);
    ASSERT_EQ(nd_safetensors_tensor(file.get(), 1, &info), ND_STATUS_OK) << last_error();
    EXPECT_STREQ(info.name, "position_ids");
    EXPECT_EQ(info.dtype, ND_DTYPE_I64);
    ASSERT_EQ(info.n_dims, 2u);
    EXPECT_EQ(info.shape[0], 1);
    EXPECT_EQ(info.shape[1], 4);
    EXPECT_EQ(info.n_elements, 4u);
    EXPECT_EQ(info.data_size, 32u);
    EXPECT_EQ(info.data_offset + info.data_size + 4, bytes.size()) << "followed by the 4-byte scalar";

    ASSERT_EQ(nd_safetensors_tensor(file.get(), 2, &info), ND_STATUS_OK);
    EXPECT_EQ(info.n_dims, 0u);
    EXPECT_EQ(info.n_elements, 1u);

    EXPECT_EQ(nd_safetensors_tensor(file.get(), 3, &info), ND_STATUS_NOT_FOUND);
    EXPECT_TRUE(contains(last_error(), "index 3 is out of range: the file has 3 tensors")) << last_error();

    ASSERT_EQ(nd_safetensors_metadata_count(file.get()), 2u);
    const char* key = nullptr;
    const char* value = nullptr;
    ASSERT_EQ(nd_safetensors_metadata(file.get(), 0, &key, &value), ND_STATUS_OK);
    EXPECT_STREQ(key, "author");
    EXPECT_STREQ(value, "me");
    ASSERT_EQ(nd_safetensors_metadata(file.get(), 1, &key, &value), ND_STATUS_OK);
    EXPECT_STREQ(key, "format");
    EXPECT_EQ(nd_safetensors_metadata(file.get(), 2, &key, &value), ND_STATUS_NOT_FOUND);
    EXPECT_EQ(nd_safetensors_metadata(file.get(), 0, nullptr, &value), ND_STATUS_INVALID_ARGUMENT);
}

TEST(CApi, Safetensors_functions_reject_null_arguments) {
    nd_safetensors* file = reinterpret_cast<nd_safetensors*>(0x1);
    EXPECT_EQ(nd_safetensors_open(nullptr, nullptr, &file), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(file, nullptr);
    EXPECT_EQ(last_error(), "nd_safetensors_open: path is NULL");
    EXPECT_EQ(nd_safetensors_open(nullptr, "x", nullptr), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(nd_safetensors_tensor_count(nullptr), 0u);
    EXPECT_EQ(nd_safetensors_metadata_count(nullptr), 0u);
    nd_tensor_info info{};
    info.struct_size = sizeof(info);
    EXPECT_EQ(nd_safetensors_tensor(nullptr, 0, &info), ND_STATUS_INVALID_ARGUMENT);
    const char* key = nullptr;
    const char* value = nullptr;
    EXPECT_EQ(nd_safetensors_metadata(nullptr, 0, &key, &value), ND_STATUS_INVALID_ARGUMENT);
    nd_safetensors_free(nullptr);
}

TEST(CApi, Older_smaller_tensor_info_is_filled_up_to_its_size) {
    const TempDir dir;
    const Safetensors file =
        open_file(nullptr, dir.write("m.safetensors", valid_safetensors(kTensors)).string());
    ASSERT_NE(file, nullptr);
    struct {
        uint32_t struct_size;
        const char* name;
        unsigned char guard[sizeof(nd_tensor_info)];
    } old;
    std::memset(&old, 0xEE, sizeof(old));
    old.struct_size = offsetof(nd_tensor_info, dtype);
    ASSERT_EQ(nd_safetensors_tensor(file.get(), 0, reinterpret_cast<nd_tensor_info*>(&old)), ND_STATUS_OK);
    EXPECT_STREQ(old.name, "a.weight");
    EXPECT_EQ(old.guard[0], 0xEE);
}

TEST(CApi, Missing_file_is_an_io_error_naming_the_path) {
    const TempDir dir;
    const std::string path = (dir.path() / "absent.safetensors").string();
    nd_safetensors* file = nullptr;
    EXPECT_EQ(nd_safetensors_open(nullptr, path.c_str(), &file), ND_STATUS_IO_ERROR);
    EXPECT_EQ(file, nullptr);
    EXPECT_TRUE(contains(last_error(), path)) << last_error();
}

TEST(CApi, Malformed_file_is_an_invalid_format_error_with_the_reason) {
    const TempDir dir;
    const std::string path = dir.write("bad.safetensors", nd::testing::length_prefix(1000) + "{}").string();
    nd_safetensors* file = nullptr;
    EXPECT_EQ(nd_safetensors_open(nullptr, path.c_str(), &file), ND_STATUS_INVALID_FORMAT);
    EXPECT_EQ(file, nullptr);
    EXPECT_TRUE(contains(last_error(), path)) << last_error();
    EXPECT_TRUE(contains(last_error(), "header length (bytes 0-7) is 1000 bytes")) << last_error();
}

TEST(CApi, Non_ascii_path_opens) {
    const TempDir dir;
    const std::string path = dir.write("mod\xC3\xA8le-\xE6\x97\xA5\xE6\x9C\xAC/w\xC3\xA9ights.safetensors",
                                       valid_safetensors(kTensors))
                                 .string();
    const Safetensors file = open_file(nullptr, path);
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(nd_safetensors_tensor_count(file.get()), 3u);
}

TEST(CApi, Open_logs_through_the_context_with_user_data_and_min_level) {
    const TempDir dir;
    const std::string path = dir.write("m.safetensors", valid_safetensors(kTensors)).string();

    LogRecord debug;
    {
        const Context context = make_context(&debug, ND_LOG_LEVEL_DEBUG);
        const Safetensors file = open_file(context.get(), path);
        ASSERT_NE(file, nullptr);
    }
    EXPECT_EQ(debug.user_data_seen, &debug);
    ASSERT_EQ(debug.messages.size(), 2u);
    EXPECT_EQ(debug.messages[0].first, ND_LOG_LEVEL_DEBUG);
    EXPECT_TRUE(contains(debug.messages[0].second, path)) << debug.messages[0].second;
    EXPECT_EQ(debug.messages[1].first, ND_LOG_LEVEL_INFO);
    EXPECT_TRUE(contains(debug.messages[1].second, "3 tensors")) << debug.messages[1].second;
    EXPECT_TRUE(contains(debug.messages[1].second, "-byte header")) << debug.messages[1].second;

    LogRecord info;
    {
        const Context context = make_context(&info, ND_LOG_LEVEL_INFO);
        const Safetensors file = open_file(context.get(), path);
    }
    ASSERT_EQ(info.messages.size(), 1u);
    EXPECT_EQ(info.messages[0].first, ND_LOG_LEVEL_INFO);

    LogRecord none;
    {
        const Context context = make_context(&none, ND_LOG_LEVEL_NONE);
        const Safetensors file = open_file(context.get(), path);
    }
    EXPECT_TRUE(none.messages.empty());
}

TEST(CApi, Tiny_sd1_fixture_opens_through_the_c_abi) {
    const auto path = nd::testing::fixtures_dir() / "tiny-sd1" / "model.safetensors";
    ND_SKIP_IF_FIXTURE_MISSING(path);
    const Safetensors file = open_file(nullptr, path.string());
    ASSERT_NE(file, nullptr);
    const size_t count = nd_safetensors_tensor_count(file.get());
    EXPECT_EQ(count, 981u);
    uint64_t elements = 0;
    nd_tensor_info info{};
    info.struct_size = sizeof(info);
    for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(nd_safetensors_tensor(file.get(), i, &info), ND_STATUS_OK);
        elements += info.n_elements;
    }
    EXPECT_EQ(elements, 11'520'312u);
}

} // namespace
