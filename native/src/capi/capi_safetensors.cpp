// Safetensors files through the C ABI.
#include <memory>

#include "capi/boundary.hpp"
#include "capi/context.hpp"
#include "capi/versioned_struct.hpp"
#include "core/dtype.hpp"
#include "formats/safetensors.hpp"
#include "native_diffusion.h"

struct nd_safetensors {
    nd::formats::SafetensorsFile file;
};

namespace {

void require_index(std::size_t index, std::size_t count, const char* what) {
    if (index >= count) {
        nd::core::throw_error(ND_STATUS_NOT_FOUND, "index {} is out of range: the file has {} {}", index,
                              count, what);
    }
}

} // namespace

extern "C" {

const char* nd_dtype_name(nd_dtype dtype) {
    const auto bits = nd::capi::enum_value(dtype);
    if (bits < ND_DTYPE_F32 || bits > ND_DTYPE_Q8_K) {
        return "?";
    }
    return nd::core::dtype_name(dtype);
}

nd_status nd_safetensors_open(nd_context* context, const char* path, nd_safetensors** out_file) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(out_file, "out_file");
        *out_file = nullptr;
        nd::capi::require_non_null(path, "path");

        const nd::core::Logger silent;
        const nd::core::Logger& logger = context != nullptr ? context->logger : silent;
        logger.log(ND_LOG_LEVEL_DEBUG, "opening safetensors file '{}'", path);
        auto file =
            std::make_unique<nd_safetensors>(nd_safetensors{nd::formats::SafetensorsFile::open(path)});
        logger.log(ND_LOG_LEVEL_INFO,
                   "opened '{}': {} tensors, {} metadata entries, {}-byte header, {} bytes in all", path,
                   file->file.tensors().size(), file->file.metadata().size(), file->file.header().header_size,
                   file->file.file_size());
        *out_file = file.release(); // ownership passes to the caller until nd_safetensors_free
    });
}

void nd_safetensors_free(nd_safetensors* file) {
    delete file;
}

size_t nd_safetensors_tensor_count(const nd_safetensors* file) {
    return file != nullptr ? file->file.tensors().size() : 0;
}

nd_status nd_safetensors_tensor(const nd_safetensors* file, size_t index, nd_tensor_info* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(file, "file");
        nd::capi::require_struct(out, "out");
        const auto tensors = file->file.tensors();
        require_index(index, tensors.size(), "tensors");
        const nd::formats::SafetensorsTensor& tensor = tensors[index];
        nd_tensor_info info{};
        info.struct_size = sizeof(info);
        info.name = tensor.name.c_str();
        info.dtype = tensor.dtype;
        info.n_dims = static_cast<uint32_t>(tensor.shape.size());
        info.shape = tensor.shape.data();
        info.n_elements = tensor.n_elements;
        info.data_offset = tensor.data_offset;
        info.data_size = tensor.data_size;
        nd::capi::write_versioned(out, info);
    });
}

size_t nd_safetensors_metadata_count(const nd_safetensors* file) {
    return file != nullptr ? file->file.metadata().size() : 0;
}

nd_status nd_safetensors_metadata(const nd_safetensors* file, size_t index, const char** out_key,
                                  const char** out_value) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(file, "file");
        nd::capi::require_non_null(out_key, "out_key");
        nd::capi::require_non_null(out_value, "out_value");
        const auto metadata = file->file.metadata();
        require_index(index, metadata.size(), "metadata entries");
        *out_key = metadata[index].key.c_str();
        *out_value = metadata[index].value.c_str();
    });
}

} // extern "C"
