// nd_make_random_model: writes a full-size checkpoint with random weights from a list of tensor shapes
// (../shared/fixtures/sd15_original_tensor_shapes.json), for benchmarks and load tests, where the real
// weights (gigabytes from a model hub) are neither available nor needed.
//
//   nd_make_random_model --shapes SHAPES.json --out MODEL.safetensors [--dtype f16|bf16|f32] [--seed N]
//
// The values are chosen so that a generation with them stays finite, like a trained model: linear and
// convolution weights uniform with the variance 1/fan_in (activations keep their scale through the layers),
// norm scales near 1, small biases, embeddings with standard deviation 0.02, and `position_ids` 0..n-1.
// The same seed writes the same file.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"
#include "formats/json.hpp"
#include "formats/safetensors_writer.hpp"

namespace {

using nd::formats::JsonValue;

struct Options {
    std::string shapes;
    std::string out;
    nd_dtype dtype = ND_DTYPE_F16;
    std::uint64_t seed = 1;
};

// splitmix64: a fast, well-mixed stream; each tensor gets its own, seeded from its name.
struct Random {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // Uniform in [-1, 1).
    float symmetric() noexcept { return static_cast<float>(static_cast<double>(next() >> 40) / 8388608.0 - 1.0); }
};

std::uint64_t hash_name(std::string_view name, std::uint64_t seed) noexcept {
    std::uint64_t h = 1469598103934665603ULL ^ seed;
    for (char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    return h;
}

bool is_norm_scale(std::string_view name, std::size_t rank) {
    if (rank != 1 || !name.ends_with(".weight")) {
        return false;
    }
    for (std::string_view marker : {"norm", ".ln_", "layer_norm", "ln_final", ".ln."}) {
        if (name.find(marker) != std::string_view::npos) {
            return true;
        }
    }
    return false;
}

// How the values of one tensor are drawn: center + spread * U(-1, 1).
void draw(std::string_view name, const std::vector<std::int64_t>& shape, Random& random, std::vector<float>& out) {
    float center = 0.0f;
    float spread = 0.0f;
    if (is_norm_scale(name, shape.size())) {
        center = 1.0f;
        spread = 0.1f;
    } else if (name.ends_with(".bias") || shape.size() <= 1) {
        spread = 0.02f;
    } else if (name.find("embedding") != std::string_view::npos) {
        spread = 0.02f * std::sqrt(3.0f);
    } else {
        double fan_in = 1;
        for (std::size_t d = 1; d < shape.size(); ++d) {
            fan_in *= static_cast<double>(shape[d]);
        }
        spread = static_cast<float>(std::sqrt(3.0 / fan_in));
    }
    for (float& value : out) {
        value = center + spread * random.symmetric();
    }
}

void fill(const nd::formats::SafetensorsTensorSpec& spec, std::span<std::byte> bytes, std::uint64_t seed) {
    const std::size_t count = bytes.size() / nd::core::dtype_size(spec.dtype);
    if (spec.dtype == ND_DTYPE_I64) {
        const std::int64_t row = spec.shape.empty() ? 1 : spec.shape.back();
        for (std::size_t i = 0; i < count; ++i) {
            const std::int64_t value = static_cast<std::int64_t>(i) % row;
            std::memcpy(bytes.data() + i * 8, &value, 8);
        }
        return;
    }
    Random random{hash_name(spec.name, seed)};
    std::vector<float> values(count);
    draw(spec.name, spec.shape, random, values);
    for (std::size_t i = 0; i < count; ++i) {
        if (spec.dtype == ND_DTYPE_F32) {
            std::memcpy(bytes.data() + i * 4, &values[i], 4);
        } else {
            const std::uint16_t half = spec.dtype == ND_DTYPE_F16 ? nd::core::f32_to_f16(values[i])
                                                                  : nd::core::f32_to_bf16(values[i]);
            std::memcpy(bytes.data() + i * 2, &half, 2);
        }
    }
}

int usage(const char* message) {
    std::fprintf(stderr, "nd_make_random_model: %s\n", message);
    std::fprintf(stderr, "usage: nd_make_random_model --shapes SHAPES.json --out MODEL.safetensors "
                         "[--dtype f16|bf16|f32] [--seed N]\n");
    return 2;
}

int run(const Options& options) {
    std::ifstream in(options.shapes, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "nd_make_random_model: cannot read %s\n", options.shapes.c_str());
        return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    const JsonValue root = nd::formats::parse_json(text.str());
    if (root.type() != nd::formats::JsonType::object) {
        std::fprintf(stderr, "nd_make_random_model: %s: expected an object of name -> shape\n",
                     options.shapes.c_str());
        return 1;
    }

    nd::formats::SafetensorsWriter writer;
    std::uint64_t parameters = 0;
    for (const auto& member : root.as_object()) {
        nd::formats::SafetensorsTensorSpec spec;
        spec.name = member.key;
        std::uint64_t elements = 1;
        if (member.value.type() != nd::formats::JsonType::array) {
            std::fprintf(stderr, "nd_make_random_model: %s: '%s' is not a shape\n", options.shapes.c_str(),
                         member.key.c_str());
            return 1;
        }
        for (const JsonValue& extent : member.value.as_array()) {
            if (extent.type() != nd::formats::JsonType::number || !extent.as_number().int64 ||
                *extent.as_number().int64 < 0) {
                std::fprintf(stderr, "nd_make_random_model: %s: '%s' has a bad extent\n", options.shapes.c_str(),
                             member.key.c_str());
                return 1;
            }
            spec.shape.push_back(*extent.as_number().int64);
            elements *= static_cast<std::uint64_t>(spec.shape.back());
        }
        spec.dtype = spec.name.ends_with("position_ids") ? ND_DTYPE_I64 : options.dtype;
        if (spec.dtype != ND_DTYPE_I64) {
            parameters += elements;
        }
        writer.add_tensor(std::move(spec));
    }
    writer.add_metadata("nd.random_weights", "true");
    writer.add_metadata("nd.random_seed", std::to_string(options.seed));

    const auto tensors = writer.tensors();
    writer.write(options.out, [&](std::size_t index, std::span<std::byte> bytes) {
        fill(tensors[index], bytes, options.seed);
        if (index % 100 == 99 || index + 1 == tensors.size()) {
            std::fprintf(stderr, "\r%zu / %zu tensors", index + 1, tensors.size());
        }
    });
    std::fprintf(stderr, "\nwrote %s: %zu tensors, %llu parameters, %s\n", options.out.c_str(), tensors.size(),
                 static_cast<unsigned long long>(parameters), nd::core::dtype_name(options.dtype));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc) {
            return usage("every option takes a value");
        }
        const std::string value = argv[++i];
        if (arg == "--shapes") {
            options.shapes = value;
        } else if (arg == "--out" || arg == "-o") {
            options.out = value;
        } else if (arg == "--dtype") {
            if (value == "f16") {
                options.dtype = ND_DTYPE_F16;
            } else if (value == "bf16") {
                options.dtype = ND_DTYPE_BF16;
            } else if (value == "f32") {
                options.dtype = ND_DTYPE_F32;
            } else {
                return usage("--dtype is f16, bf16 or f32");
            }
        } else if (arg == "--seed") {
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), options.seed);
            if (error != std::errc{} || end != value.data() + value.size()) {
                return usage("--seed takes a non-negative integer");
            }
        } else {
            return usage("unknown option");
        }
    }
    if (options.shapes.empty() || options.out.empty()) {
        return usage("--shapes and --out are required");
    }
    try {
        return run(options);
    } catch (const nd::core::Error& error) {
        std::fprintf(stderr, "nd_make_random_model: %s\n", error.what());
        return 1;
    }
}
