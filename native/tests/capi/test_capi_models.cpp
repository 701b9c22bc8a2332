// Models, conversion and generation through the C ABI, as a binding sees them.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "native_diffusion.h"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using nd::testing::TempDir;

fs::path tiny_model() { return nd::testing::fixtures_dir() / "tiny-sd1" / "model.safetensors"; }
fs::path tiny_folder() { return nd::testing::fixtures_dir() / "tiny-sd1" / "diffusers"; }
fs::path tokenizer_dir() { return nd::testing::fixtures_dir() / "tokenizer"; }
fs::path references() { return nd::testing::fixtures_dir() / "tiny-sd1" / "reference.safetensors"; }

// Points the tokenizer cache at an empty folder for the test's lifetime, so a cache filled on this machine
// cannot satisfy a lookup that must fail.
class EmptyTokenizerCache {
public:
    EmptyTokenizerCache() {
        if (const char* old = std::getenv("ND_CACHE_DIR")) {
            old_ = old;
        }
        setenv("ND_CACHE_DIR", dir_.path().c_str(), 1);
    }
    ~EmptyTokenizerCache() {
        if (old_.empty()) {
            unsetenv("ND_CACHE_DIR");
        } else {
            setenv("ND_CACHE_DIR", old_.c_str(), 1);
        }
    }

private:
    TempDir dir_;
    std::string old_;
};

struct ModelDeleter {
    void operator()(nd_model* model) const noexcept { nd_model_free(model); }
};
using ModelPtr = std::unique_ptr<nd_model, ModelDeleter>;

ModelPtr load(const fs::path& path, const fs::path& tokenizer, int for_generation, nd_status expected = ND_STATUS_OK) {
    nd_model_params params{};
    params.struct_size = sizeof(params);
    EXPECT_EQ(nd_model_params_init(&params), ND_STATUS_OK);
    const std::string path_text = path.string();
    const std::string tokenizer_text = tokenizer.string();
    params.path = path_text.c_str();
    params.tokenizer_path = tokenizer.empty() ? nullptr : tokenizer_text.c_str();
    params.for_generation = for_generation;
    params.threads = 2;
    nd_model* model = nullptr;
    const nd_status status = nd_model_load(nullptr, &params, &model);
    EXPECT_EQ(status, expected) << nd_last_error();
    if (status != ND_STATUS_OK) {
        EXPECT_EQ(model, nullptr);
    }
    return ModelPtr(model);
}

nd_model_info info_of(const nd_model* model) {
    nd_model_info info{};
    info.struct_size = sizeof(info);
    EXPECT_EQ(nd_model_get_info(model, &info), ND_STATUS_OK) << nd_last_error();
    return info;
}

// The reference image as 8-bit pixels, rounded as diffusers' numpy_to_pil does.
std::vector<uint8_t> reference_pixels(const char* key) {
    nd_safetensors* file = nullptr;
    EXPECT_EQ(nd_safetensors_open(nullptr, references().c_str(), &file), ND_STATUS_OK) << nd_last_error();
    std::vector<uint8_t> pixels;
    for (size_t i = 0; i < nd_safetensors_tensor_count(file); ++i) {
        nd_tensor_info info{};
        info.struct_size = sizeof(info);
        EXPECT_EQ(nd_safetensors_tensor(file, i, &info), ND_STATUS_OK);
        if (std::strcmp(info.name, key) != 0) {
            continue;
        }
        EXPECT_EQ(info.dtype, ND_DTYPE_F32);
        std::vector<float> values(info.n_elements);
        FILE* raw = std::fopen(references().c_str(), "rb");
        EXPECT_NE(raw, nullptr);
        std::fseek(raw, static_cast<long>(info.data_offset), SEEK_SET);
        EXPECT_EQ(std::fread(values.data(), 4, values.size(), raw), values.size());
        std::fclose(raw);
        for (float v : values) {
            pixels.push_back(static_cast<uint8_t>(std::nearbyint(std::fmin(std::fmax(v, 0.0f), 1.0f) * 255.0f)));
        }
    }
    nd_safetensors_free(file);
    return pixels;
}

nd_generate_params euler_request() {
    nd_generate_params params{};
    params.struct_size = sizeof(params);
    EXPECT_EQ(nd_generate_params_init(&params), ND_STATUS_OK);
    params.prompt = "a photo of an astronaut riding a horse on mars";
    params.negative_prompt = "blurry, low quality";
    params.width = 64;
    params.height = 64;
    params.steps = 6;
    params.cfg_scale = 7.5f;
    params.sampler = "euler";
    params.schedule = "default";
    params.timestep_spacing = "linspace";
    params.seed = 7;
    params.rng = ND_RNG_CPU;
    return params;
}

std::vector<uint8_t> generate_one(nd_model* model, const nd_generate_params& params) {
    nd_images* images = nullptr;
    EXPECT_EQ(nd_generate(model, &params, &images), ND_STATUS_OK) << nd_last_error();
    EXPECT_EQ(nd_images_count(images), 1u);
    nd_image image{};
    image.struct_size = sizeof(image);
    EXPECT_EQ(nd_images_get(images, 0, &image), ND_STATUS_OK);
    EXPECT_EQ(image.channels, 3u);
    EXPECT_EQ(image.stride, static_cast<size_t>(image.width) * 3);
    std::vector<uint8_t> pixels(image.pixels, image.pixels + static_cast<size_t>(image.height) * image.stride);
    nd_images_free(images);
    return pixels;
}

int max_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    EXPECT_EQ(a.size(), b.size());
    int worst = 0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
    }
    return worst;
}

TEST(CApiModels, Tiny_single_file_loads_as_sd1_with_its_weights_and_tokenizer) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const ModelPtr model = load(tiny_model(), tokenizer_dir(), 1);
    ASSERT_NE(model, nullptr);
    const nd_model_info info = info_of(model.get());
    EXPECT_EQ(info.family, ND_MODEL_FAMILY_SD1);
    EXPECT_STREQ(info.family_name, "SD 1.x");
    EXPECT_STREQ(info.layout, "single-file checkpoint");
    EXPECT_EQ(info.prediction, ND_PREDICTION_TYPE_EPSILON);
    EXPECT_EQ(info.components, ND_MODEL_COMPONENT_FLAGS_UNET | ND_MODEL_COMPONENT_FLAGS_VAE |
                                   ND_MODEL_COMPONENT_FLAGS_TEXT_ENCODER | ND_MODEL_COMPONENT_FLAGS_TOKENIZER);
    EXPECT_STREQ(info.tokenizer_source, "tokenizer directory");
    EXPECT_EQ(info.tensor_count, 980u); // 981 in the file less the int64 position_ids buffer
    EXPECT_EQ(info.weight_bytes, 2u * 11'520'235u);
    ASSERT_EQ(nd_model_tensor_count(model.get()), 980u);
    nd_tensor_info tensor{};
    tensor.struct_size = sizeof(tensor);
    ASSERT_EQ(nd_model_tensor(model.get(), 0, &tensor), ND_STATUS_OK);
    EXPECT_EQ(tensor.dtype, ND_DTYPE_F16);
    EXPECT_EQ(nd_model_tensor(model.get(), 980, &tensor), ND_STATUS_NOT_FOUND);
}

TEST(CApiModels, Without_a_tokenizer_generation_loading_says_how_to_get_one_and_inspection_still_works) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const EmptyTokenizerCache cache;
    const ModelPtr refused = load(tiny_model(), {}, 1, ND_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(nd_last_error()).find("nd tokenizer fetch"), std::string::npos) << nd_last_error();
    const ModelPtr inspected = load(tiny_model(), {}, 0);
    ASSERT_NE(inspected, nullptr);
    const nd_model_info info = info_of(inspected.get());
    EXPECT_EQ(info.components & ND_MODEL_COMPONENT_FLAGS_TOKENIZER, 0u);
    EXPECT_STREQ(info.tokenizer_source, "");
    const nd_generate_params params = euler_request();
    nd_images* images = nullptr;
    EXPECT_EQ(nd_generate(inspected.get(), &params, &images), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(images, nullptr);
}

TEST(CApiModels, Euler_64x64_matches_diffusers_from_the_single_file_and_the_diffusers_folder) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    ND_SKIP_IF_FIXTURE_MISSING(references());
    const auto expected = reference_pixels("sd1.pipe.euler.64x64.image");
    ASSERT_EQ(expected.size(), 64u * 64u * 3u);
    const ModelPtr single = load(tiny_model(), tokenizer_dir(), 1);
    const ModelPtr folder = load(tiny_folder(), {}, 1);
    ASSERT_NE(single, nullptr);
    ASSERT_NE(folder, nullptr);
    // Under one 8-bit level: the float tolerance (2e-3) is half a level, so rounding may move a pixel by one.
    EXPECT_LE(max_difference(generate_one(single.get(), euler_request()), expected), 1);
    EXPECT_LE(max_difference(generate_one(folder.get(), euler_request()), expected), 1);
}

struct ProgressLog {
    std::vector<nd_progress> reports;
    nd_cancel_token* cancel_after_first_step = nullptr;
};

void record_progress(const nd_progress* progress, void* user_data) {
    auto* log = static_cast<ProgressLog*>(user_data);
    log->reports.push_back(*progress);
    if (log->cancel_after_first_step != nullptr && progress->stage == ND_STAGE_SAMPLING && progress->step == 1) {
        nd_cancel_token_cancel(log->cancel_after_first_step);
    }
}

TEST(CApiModels, Cancel_from_a_callback_stops_the_run_and_the_model_then_gives_the_same_image) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const ModelPtr model = load(tiny_model(), tokenizer_dir(), 1);
    ASSERT_NE(model, nullptr);
    const auto before = generate_one(model.get(), euler_request());

    nd_cancel_token* token = nullptr;
    ASSERT_EQ(nd_cancel_token_create(&token), ND_STATUS_OK);
    ProgressLog log;
    log.cancel_after_first_step = token;
    nd_generate_params params = euler_request();
    params.progress = record_progress;
    params.progress_user_data = &log;
    params.cancel = token;
    nd_images* images = nullptr;
    EXPECT_EQ(nd_generate(model.get(), &params, &images), ND_STATUS_CANCELLED) << nd_last_error();
    EXPECT_EQ(images, nullptr);
    EXPECT_EQ(nd_cancel_token_is_cancelled(token), 1);
    int sampling_steps = 0;
    for (const nd_progress& report : log.reports) {
        sampling_steps += report.stage == ND_STAGE_SAMPLING && report.step > 0 ? 1 : 0;
    }
    EXPECT_LE(sampling_steps, 2); // stopped within a step of the cancel
    nd_cancel_token_free(token);

    EXPECT_EQ(generate_one(model.get(), euler_request()), before);
}

TEST(CApiModels, Progress_arrives_in_order_for_every_step_with_previews_on_the_interval) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const ModelPtr model = load(tiny_model(), tokenizer_dir(), 1);
    ASSERT_NE(model, nullptr);
    ProgressLog log;
    struct Previews {
        std::vector<uint32_t> steps;
        uint32_t width = 0;
    } previews;
    nd_generate_params params = euler_request();
    params.progress = record_progress;
    params.progress_user_data = &log;
    params.preview_interval = 2;
    params.preview = [](const nd_image* image, uint32_t step, void* user_data) {
        auto* seen = static_cast<Previews*>(user_data);
        seen->steps.push_back(step);
        seen->width = image->width;
    };
    params.preview_user_data = &previews;
    (void)generate_one(model.get(), params);
    std::vector<uint32_t> steps;
    for (const nd_progress& report : log.reports) {
        if (report.stage == ND_STAGE_SAMPLING && report.step > 0) {
            steps.push_back(report.step);
            EXPECT_EQ(report.steps, 6u);
        }
    }
    EXPECT_EQ(steps, (std::vector<uint32_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(previews.steps, (std::vector<uint32_t>{2, 4, 6}));
    EXPECT_GT(previews.width, 0u);
}

TEST(CApiModels, Bad_requests_are_refused_naming_the_field_and_the_model_stays_usable) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const ModelPtr model = load(tiny_model(), tokenizer_dir(), 1);
    ASSERT_NE(model, nullptr);
    nd_images* images = nullptr;
    nd_generate_params params = euler_request();
    params.width = 60;
    EXPECT_EQ(nd_generate(model.get(), &params, &images), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(nd_last_error()).find("width"), std::string::npos) << nd_last_error();
    params = euler_request();
    params.sampler = "eulerr";
    EXPECT_EQ(nd_generate(model.get(), &params, &images), ND_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(nd_last_error()).find("euler_a"), std::string::npos) << nd_last_error();
    params = euler_request();
    params.prompt = nullptr;
    EXPECT_EQ(nd_generate(model.get(), &params, &images), ND_STATUS_INVALID_ARGUMENT);
    params = euler_request();
    params.rng = static_cast<nd_rng>(7);
    EXPECT_EQ(nd_generate(model.get(), &params, &images), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(images, nullptr);
    params = euler_request();
    params.steps = 1;
    EXPECT_EQ(generate_one(model.get(), params).size(), 64u * 64u * 3u);
}

TEST(CApiModels, Converted_q8_0_gguf_is_self_contained_and_generates) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const EmptyTokenizerCache cache;
    TempDir dir;
    const std::string out = (dir.path() / "tiny-q8_0.gguf").string();
    {
        const ModelPtr source = load(tiny_model(), tokenizer_dir(), 0);
        ASSERT_NE(source, nullptr);
        nd_convert_params params{};
        params.struct_size = sizeof(params);
        ASSERT_EQ(nd_convert_params_init(&params), ND_STATUS_OK);
        EXPECT_EQ(params.weight_type, ND_DTYPE_F16);
        params.output_path = out.c_str();
        params.weight_type = ND_DTYPE_Q8_0;
        std::atomic<uint64_t> last{0};
        params.progress = [](uint64_t done, uint64_t, const char*, void* user_data) {
            static_cast<std::atomic<uint64_t>*>(user_data)->store(done);
        };
        params.progress_user_data = &last;
        ASSERT_EQ(nd_model_convert(source.get(), &params), ND_STATUS_OK) << nd_last_error();
        EXPECT_EQ(last.load(), 980u);
    }
    const ModelPtr converted = load(out, {}, 1);
    ASSERT_NE(converted, nullptr);
    const nd_model_info info = info_of(converted.get());
    EXPECT_STREQ(info.layout, "GGUF");
    EXPECT_STREQ(info.tokenizer_source, "model file");
    EXPECT_LT(info.weight_bytes, 2u * 11'520'235u);
    nd_generate_params params = euler_request();
    params.steps = 2;
    EXPECT_EQ(generate_one(converted.get(), params).size(), 64u * 64u * 3u);
}

TEST(CApiModels, Unknown_prediction_and_missing_backends_are_refused_before_loading) {
    nd_model_params params{};
    params.struct_size = sizeof(params);
    ASSERT_EQ(nd_model_params_init(&params), ND_STATUS_OK);
    nd_model* model = nullptr;
    EXPECT_EQ(nd_model_load(nullptr, &params, &model), ND_STATUS_INVALID_ARGUMENT); // no path
    params.path = "/nonexistent/model.safetensors";
    params.backends = ND_BACKEND_FLAGS_CUDA;
    EXPECT_EQ(nd_model_load(nullptr, &params, &model), ND_STATUS_UNSUPPORTED);
    params.backends = 0;
    params.prediction = static_cast<nd_prediction_type>(9);
    EXPECT_EQ(nd_model_load(nullptr, &params, &model), ND_STATUS_INVALID_ARGUMENT);
    params.prediction = ND_PREDICTION_TYPE_AUTO;
    EXPECT_EQ(nd_model_load(nullptr, &params, &model), ND_STATUS_IO_ERROR);
    EXPECT_EQ(model, nullptr);
}

} // namespace
