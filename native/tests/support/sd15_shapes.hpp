// Full-size SD 1.5 weights that only have shapes (shared/fixtures/sd15_original_tensor_shapes.json): every
// tensor of the chosen prefixes as F16, all viewing one shared block of memory as large as the biggest, so
// that graphs of the real model can be built and planned (or timed) without 2 GB of weights.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/half.hpp"
#include "core/tensor.hpp"
#include "formats/json.hpp"
#include "model_files/weight_set.hpp"

namespace nd::testing {

// Reads `json_path` and returns the F16 tensors whose names start with one of `prefixes`. The shared block
// holds small random values (|x| <= scale) when `random` is set, zeros otherwise.
inline model_files::WeightSet sd15_shape_only_weights(const std::filesystem::path& json_path,
                                                      std::initializer_list<std::string_view> prefixes,
                                                      bool random = false, float scale = 0.02f) {
    std::ifstream in(json_path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const formats::JsonValue doc = formats::parse_json(text.str());
    struct Entry {
        std::string name;
        core::Shape shape;
    };
    std::vector<Entry> entries;
    std::uint64_t largest = 0;
    for (const formats::JsonMember& member : doc.as_object()) {
        if (std::none_of(prefixes.begin(), prefixes.end(),
                         [&](std::string_view p) { return std::string_view(member.key).starts_with(p); })) {
            continue;
        }
        if (member.key.ends_with("position_ids")) {
            continue; // an int64 buffer, not a weight
        }
        std::vector<std::int64_t> dims;
        for (const formats::JsonValue& d : member.value.as_array()) {
            dims.push_back(*d.as_number().int64);
        }
        Entry entry{member.key, core::Shape::of(dims)};
        largest = std::max(largest, core::packed_bytes(ND_DTYPE_F16, entry.shape));
        entries.push_back(std::move(entry));
    }
    const std::shared_ptr<core::Storage> storage = core::Storage::allocate(largest);
    if (random) {
        std::mt19937 rng(1234);
        std::uniform_real_distribution<float> dist(-scale, scale);
        auto* halves = reinterpret_cast<std::uint16_t*>(storage->data());
        for (std::uint64_t i = 0; i < largest / 2; ++i) {
            halves[i] = core::f32_to_f16(dist(rng));
        }
    }
    model_files::WeightSet weights;
    for (Entry& entry : entries) {
        weights.add(std::move(entry.name),
                    core::Tensor(storage, core::Layout::packed(ND_DTYPE_F16, entry.shape)));
    }
    return weights;
}

} // namespace nd::testing
