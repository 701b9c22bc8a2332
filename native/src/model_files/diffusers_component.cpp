#include "model_files/diffusers_component.hpp"

#include <memory>
#include <set>

#include "core/error.hpp"
#include "formats/safetensors.hpp"
#include "model_files/json_file.hpp"
#include "model_files/safetensors_weights.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBases[] = {"diffusion_pytorch_model", "model"};

// The variant suffixes to try, best first: "" is the plain file.
std::vector<std::string> variant_order(DiffusersVariant variant) {
    switch (variant) {
    case DiffusersVariant::Fp16:
        return {"fp16"};
    case DiffusersVariant::Full:
        return {""};
    case DiffusersVariant::Auto:
        break;
    }
    return {"fp16", ""};
}

std::string with_variant(const std::string& stem, const std::string& variant, const std::string& extension) {
    return variant.empty() ? stem + extension : stem + "." + variant + extension;
}

const formats::JsonValue& weight_map_of(const fs::path& index_path, const formats::JsonValue& index) {
    const formats::JsonValue* map = index.type() == formats::JsonType::object ? index.find("weight_map") : nullptr;
    if (map == nullptr || map->type() != formats::JsonType::object) {
        core::throw_invalid_format("{}: no 'weight_map' object", index_path.string());
    }
    return *map;
}

// The shards an index names, in first-mention order, each checked to be a plain file name in `folder`.
std::vector<fs::path> index_shards(const fs::path& index_path) {
    const formats::JsonValue index = read_json_file(index_path);
    const formats::JsonValue* map = &weight_map_of(index_path, index);
    std::vector<fs::path> shards;
    std::set<std::string, std::less<>> seen;
    for (const formats::JsonMember& member : map->as_object()) {
        if (member.value.type() != formats::JsonType::string) {
            core::throw_invalid_format("{}: weight_map entry '{}' at byte {} is not a file name",
                                       index_path.string(), member.key, member.value.offset());
        }
        const std::string& shard = member.value.as_string();
        // A shard must lie beside the index: an index must not make us open files elsewhere.
        if (shard.empty() || shard.find('/') != std::string::npos || shard.find('\\') != std::string::npos ||
            shard == "." || shard == "..") {
            core::throw_invalid_format("{}: shard name '{}' for '{}' is not a file name in the folder",
                                       index_path.string(), shard, member.key);
        }
        if (seen.insert(shard).second) {
            shards.push_back(index_path.parent_path() / shard);
        }
    }
    if (shards.empty()) {
        core::throw_invalid_format("{}: 'weight_map' is empty", index_path.string());
    }
    return shards;
}

} // namespace

DiffusersComponentFiles diffusers_component_files(const fs::path& folder, DiffusersVariant variant) {
    std::vector<std::string> looked_for;
    for (const std::string& suffix : variant_order(variant)) {
        for (const char* base : kBases) {
            const std::string single = with_variant(base, suffix, ".safetensors");
            if (fs::is_regular_file(folder / single)) {
                return {{folder / single}, {}};
            }
            // diffusers writes "<base>.safetensors.index.fp16.json" for a sharded variant.
            const std::string index = with_variant(std::string(base) + ".safetensors.index", suffix, ".json");
            if (fs::is_regular_file(folder / index)) {
                return {index_shards(folder / index), folder / index};
            }
            looked_for.push_back(single);
            looked_for.push_back(index);
        }
    }
    std::string names;
    for (const std::string& name : looked_for) {
        names += names.empty() ? name : ", " + name;
    }
    for (const char* base : kBases) {
        if (fs::exists(folder / (std::string(base) + ".bin"))) {
            core::throw_error(ND_STATUS_UNSUPPORTED,
                              "{}: only PyTorch pickle weights ({}.bin) are there; pickles can run code when "
                              "loaded, so they are not read: convert the folder to safetensors",
                              folder.string(), base);
        }
    }
    core::throw_error(ND_STATUS_NOT_FOUND, "{}: no weights found (looked for {})", folder.string(), names);
}

WeightSet load_diffusers_component(const fs::path& folder, DiffusersVariant variant) {
    const DiffusersComponentFiles found = diffusers_component_files(folder, variant);
    WeightSet weights;
    for (const fs::path& path : found.files) {
        auto file = std::make_shared<const formats::SafetensorsFile>(formats::SafetensorsFile::open(path.string()));
        add_safetensors_weights(weights, file);
    }
    if (!found.index.empty()) {
        const formats::JsonValue index = read_json_file(found.index);
        for (const formats::JsonMember& member : weight_map_of(found.index, index).as_object()) {
            if (!weights.contains(member.key)) {
                core::throw_invalid_format("{}: weight '{}' is not in its shard '{}'", found.index.string(),
                                           member.key, member.value.as_string());
            }
        }
    }
    return weights;
}

} // namespace nd::model_files
