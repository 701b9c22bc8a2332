// What an nd_model handle points to: the loaded model files and, once asked for, the pipeline over them.
// Shared by the C functions on models (capi_model.cpp, capi_convert.cpp, capi_generate.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/logger.hpp"
#include "model_files/load_model_files.hpp"
#include "pipeline/stable_diffusion.hpp"

struct nd_model {
    struct TensorRecord {
        std::string name;
        nd_dtype dtype = ND_DTYPE_F32;
        std::vector<std::int64_t> shape;
        std::uint64_t elements = 0;
        std::uint64_t bytes = 0;
    };

    nd::core::Logger logger; // the context's, copied: a model outlives the call that loaded it
    std::unique_ptr<nd::model_files::LoadedModelFiles> files; // when no pipeline was made
    std::unique_ptr<nd::pipeline::StableDiffusion> pipeline;  // holds the files when made
    nd::pipeline::PipelineOptions pipeline_options;
    std::vector<TensorRecord> tensors; // sorted by name, for nd_model_tensor
    std::uint64_t weight_bytes = 0;
    std::string tokenizer_source;
    std::mutex run_mutex; // generation and conversion run one at a time

    [[nodiscard]] const nd::model_files::LoadedModelFiles& loaded() const noexcept {
        return pipeline != nullptr ? pipeline->files() : *files;
    }
};
