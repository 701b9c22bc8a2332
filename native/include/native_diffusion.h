/*
 * native_diffusion.h: the C ABI of the NativeDiffusion engine, and its only public header.
 *
 * Rules every function here keeps (docs/architecture.md explains why):
 * - Fallible functions return nd_status; on failure nd_last_error() explains it on the calling thread.
 * - Whoever allocates frees: every object created by nd_*_open/create is released with its nd_*_free.
 * - Strings are UTF-8. Strings returned by the library are owned by it; each comment says how long they live.
 * - Structs start with uint32_t struct_size. Parameter structs are filled by their nd_*_init(); output
 *   structs are filled up to the caller's struct_size, so older callers with smaller structs keep working.
 * - Callbacks are registered per handle with a user_data pointer; nothing is process-global.
 * - No C++ exception ever crosses this boundary.
 */
#ifndef NATIVE_DIFFUSION_H
#define NATIVE_DIFFUSION_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(ND_BUILDING_LIBRARY)
#    define ND_API __declspec(dllexport)
#  else
#    define ND_API __declspec(dllimport)
#  endif
#else
#  define ND_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/* Bumped on every incompatible change of this header; bindings refuse a library with another value. */
#define ND_ABI_VERSION 1

/* The ABI version the library was built with (compare with ND_ABI_VERSION). Thread-safe. */
ND_API uint32_t nd_abi_version(void);

/* The library's semantic version, e.g. "0.1.0". Static string, never freed. Thread-safe. */
ND_API const char* nd_version(void);

/* ----------------------------------------------------------------- errors */

typedef enum nd_status {
    ND_STATUS_OK = 0,
    ND_STATUS_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad struct_size, an out-of-range value */
    ND_STATUS_OUT_OF_MEMORY = 2,    /* an allocation failed; nothing was changed */
    ND_STATUS_IO_ERROR = 3,         /* a file could not be opened, read or mapped */
    ND_STATUS_INVALID_FORMAT = 4,   /* a file is malformed; the message names the offset or field */
    ND_STATUS_UNSUPPORTED = 5,      /* valid input that this build cannot handle */
    ND_STATUS_NOT_FOUND = 6,        /* a name or index that does not exist */
    ND_STATUS_CANCELLED = 7,        /* the caller cancelled the operation */
    ND_STATUS_INTERNAL_ERROR = 8    /* a bug: please report the message */
} nd_status;

/* A stable name for a status ("ND_STATUS_IO_ERROR"); "?" for unknown values. Static string. Thread-safe. */
ND_API const char* nd_status_name(nd_status status);

/* The message of the last failure on the calling thread ("" if none). Successful calls leave it as it is,
 * so check a status before reading it. Valid until the next failing call on this thread. Thread-safe
 * (thread-local). */
ND_API const char* nd_last_error(void);

/* ---------------------------------------------------------------- logging */

typedef enum nd_log_level {
    ND_LOG_LEVEL_TRACE = 0,
    ND_LOG_LEVEL_DEBUG = 1,
    ND_LOG_LEVEL_INFO = 2,
    ND_LOG_LEVEL_WARNING = 3,
    ND_LOG_LEVEL_ERROR = 4,
    ND_LOG_LEVEL_NONE = 5 /* as a minimum level: log nothing */
} nd_log_level;

/* Receives one log message. `message` is valid only during the call. May be called from any thread the
 * library works on; it must not call back into the library with the same handle, and must not unwind. */
typedef void (*nd_log_callback)(nd_log_level level, const char* message, void* user_data);

/* ----------------------------------------------------------------- system */

typedef enum nd_backend_flags {
    ND_BACKEND_FLAGS_CPU = 1,
    ND_BACKEND_FLAGS_VULKAN = 2,
    ND_BACKEND_FLAGS_CUDA = 4
} nd_backend_flags;

typedef enum nd_cpu_feature_flags {
    ND_CPU_FEATURE_FLAGS_SSE4_2 = 1,
    ND_CPU_FEATURE_FLAGS_AVX = 2,
    ND_CPU_FEATURE_FLAGS_AVX2 = 4,
    ND_CPU_FEATURE_FLAGS_FMA = 8,
    ND_CPU_FEATURE_FLAGS_F16C = 16,
    ND_CPU_FEATURE_FLAGS_AVX512F = 32,
    ND_CPU_FEATURE_FLAGS_AVX512BW = 64,
    ND_CPU_FEATURE_FLAGS_AVX512VL = 128,
    ND_CPU_FEATURE_FLAGS_AVX512VNNI = 256,
    ND_CPU_FEATURE_FLAGS_AVX512BF16 = 512,
    ND_CPU_FEATURE_FLAGS_NEON = 1024
} nd_cpu_feature_flags;

typedef struct nd_build_info {
    uint32_t struct_size;
    const char* version;    /* same as nd_version() */
    const char* compiler;   /* e.g. "GNU 12.2.0" */
    const char* build_type; /* CMake build type, e.g. "Release" */
    const char* cxx_flags;  /* the C++ flags the library was compiled with */
    uint32_t backends;      /* nd_backend_flags compiled in */
} nd_build_info;

/* Fills `out` (set out->struct_size first) with how the library was built. Strings are static. Thread-safe. */
ND_API nd_status nd_get_build_info(nd_build_info* out);

typedef struct nd_system_info {
    uint32_t struct_size;
    uint64_t cpu_features;         /* nd_cpu_feature_flags detected at run time (CPU and OS support) */
    const char* cpu_name;          /* brand string; static, never freed */
    uint32_t physical_cores;
    uint32_t logical_cores;
    uint64_t total_memory_bytes;
    uint64_t available_memory_bytes;
} nd_system_info;

/* Fills `out` (set out->struct_size first) with what this machine has. Thread-safe. */
ND_API nd_status nd_get_system_info(nd_system_info* out);

/* The library's own layout of a public struct, so that bindings can check theirs. With field == NULL,
 * reports the struct's size in *out_size and 0 in *out_offset. Unknown names give ND_STATUS_NOT_FOUND.
 * Thread-safe. */
ND_API nd_status nd_struct_layout(const char* struct_name, const char* field_name, size_t* out_offset,
                                  size_t* out_size);

/* ---------------------------------------------------------------- context */

/* A context carries what several operations share: the log callback now, threads and backends later.
 * One context may be used from one thread at a time; objects opened through it keep no reference to it
 * once their open call has returned. */
typedef struct nd_context nd_context;

typedef struct nd_context_params {
    uint32_t struct_size;
    nd_log_callback log_callback; /* NULL: log nothing */
    void* log_user_data;          /* passed back to log_callback */
    nd_log_level min_log_level;   /* messages below it are not formatted; default ND_LOG_LEVEL_INFO */
} nd_context_params;

/* Fills `params` with defaults (no callback, minimum level INFO). Set params->struct_size first (to
 * sizeof(nd_context_params)): like output structs, only that many bytes are written, so a caller built
 * against an older, smaller struct is safe with a newer library. Thread-safe. */
ND_API nd_status nd_context_params_init(nd_context_params* params);

/* Creates a context; free it with nd_context_free. Fields beyond params->struct_size (an older caller's
 * smaller struct) take their defaults. On failure *out_context is NULL. */
ND_API nd_status nd_context_create(const nd_context_params* params, nd_context** out_context);

/* Frees a context; NULL is ignored. */
ND_API void nd_context_free(nd_context* context);

/* ------------------------------------------------------------ model files */

/* Element types of tensors in model files. */
typedef enum nd_dtype {
    ND_DTYPE_F32 = 0,
    ND_DTYPE_F16 = 1,
    ND_DTYPE_BF16 = 2,
    ND_DTYPE_F64 = 3,
    ND_DTYPE_F8_E4M3 = 4,
    ND_DTYPE_F8_E5M2 = 5,
    ND_DTYPE_I8 = 6,
    ND_DTYPE_I16 = 7,
    ND_DTYPE_I32 = 8,
    ND_DTYPE_I64 = 9,
    ND_DTYPE_U8 = 10,
    ND_DTYPE_U16 = 11,
    ND_DTYPE_U32 = 12,
    ND_DTYPE_U64 = 13,
    ND_DTYPE_BOOL = 14,
    /* GGML block-quantized types, bit-compatible with GGUF files: a block of 32 (or, for the K types, 256)
     * consecutive elements of a row is stored as scales plus packed integers. */
    ND_DTYPE_Q8_0 = 15,
    ND_DTYPE_Q4_0 = 16,
    ND_DTYPE_Q4_1 = 17,
    ND_DTYPE_Q5_0 = 18,
    ND_DTYPE_Q5_1 = 19,
    ND_DTYPE_Q2_K = 20,
    ND_DTYPE_Q3_K = 21,
    ND_DTYPE_Q4_K = 22,
    ND_DTYPE_Q5_K = 23,
    ND_DTYPE_Q6_K = 24,
    ND_DTYPE_Q8_K = 25 /* the activation format of K-quant dot products */
} nd_dtype;

/* The dtype's name as files spell it ("F16", "BF16", "Q4_K"). Static string; "?" for unknown values. */
ND_API const char* nd_dtype_name(nd_dtype dtype);

/* One tensor of an open file. Pointers stay valid until the file is freed. */
typedef struct nd_tensor_info {
    uint32_t struct_size;
    const char* name;
    nd_dtype dtype;
    uint32_t n_dims;
    const int64_t* shape;  /* n_dims entries, outermost first; may be NULL when n_dims is 0 */
    uint64_t n_elements;
    uint64_t data_offset;  /* absolute offset of the first byte in the file */
    uint64_t data_size;    /* bytes */
} nd_tensor_info;

/* An open, memory-mapped .safetensors file whose header has been fully validated. */
typedef struct nd_safetensors nd_safetensors;

/* Opens and validates a .safetensors file. `context` may be NULL (no logging). Free the result with
 * nd_safetensors_free. Malformed files give ND_STATUS_INVALID_FORMAT with the reason; on failure *out_file
 * is NULL. */
ND_API nd_status nd_safetensors_open(nd_context* context, const char* path, nd_safetensors** out_file);

/* Frees an open file; NULL is ignored. */
ND_API void nd_safetensors_free(nd_safetensors* file);

/* Number of tensors, in the order their data lies in the file. Thread-safe on one file. */
ND_API size_t nd_safetensors_tensor_count(const nd_safetensors* file);

/* Describes tensor `index` (set out->struct_size first); ND_STATUS_NOT_FOUND past the end. Thread-safe on
 * one file. */
ND_API nd_status nd_safetensors_tensor(const nd_safetensors* file, size_t index, nd_tensor_info* out);

/* Number of "__metadata__" entries. Thread-safe on one file. */
ND_API size_t nd_safetensors_metadata_count(const nd_safetensors* file);

/* Metadata entry `index`, sorted by key; ND_STATUS_NOT_FOUND past the end. Strings stay valid until the
 * file is freed. Thread-safe. */
ND_API nd_status nd_safetensors_metadata(const nd_safetensors* file, size_t index, const char** out_key,
                                         const char** out_value);

/* ----------------------------------------------------------------- models */

/* The model families the engine recognises from tensor names and shapes. */
typedef enum nd_model_family {
    ND_MODEL_FAMILY_SD1 = 1,
    ND_MODEL_FAMILY_SD2 = 2,
    ND_MODEL_FAMILY_SDXL = 3,
    ND_MODEL_FAMILY_SDXL_REFINER = 4
} nd_model_family;

typedef enum nd_prediction_type {
    ND_PREDICTION_TYPE_AUTO = 0,    /* as a parameter: what the files say, epsilon when they say nothing */
    ND_PREDICTION_TYPE_EPSILON = 1,
    ND_PREDICTION_TYPE_V = 2
} nd_prediction_type;

typedef enum nd_model_component_flags {
    ND_MODEL_COMPONENT_FLAGS_UNET = 1,
    ND_MODEL_COMPONENT_FLAGS_VAE = 2,
    ND_MODEL_COMPONENT_FLAGS_TEXT_ENCODER = 4,
    ND_MODEL_COMPONENT_FLAGS_TEXT_ENCODER_2 = 8,
    ND_MODEL_COMPONENT_FLAGS_TOKENIZER = 16
} nd_model_component_flags;

/* As nd_model_params.weight_type: keep every weight in the type its file stores. */
#define ND_WEIGHT_TYPE_AS_STORED (-1)

typedef struct nd_model_params {
    uint32_t struct_size;
    const char* path;           /* a .safetensors or .gguf file, or a diffusers folder (UTF-8) */
    const char* vae_path;       /* a separate VAE replacing the model's; NULL: the model's own */
    const char* tokenizer_path; /* a folder with vocab.json and merges.txt; NULL: search (docs/formats.md) */
    int32_t weight_type;        /* an nd_dtype to convert weights to while loading, or ND_WEIGHT_TYPE_AS_STORED */
    nd_prediction_type prediction; /* default ND_PREDICTION_TYPE_AUTO */
    uint32_t threads;           /* worker threads for generation; 0 (default): the physical cores */
    uint32_t backends;          /* nd_backend_flags to use; 0 (default): the CPU */
    int32_t for_generation;     /* nonzero (default): fail now when the model cannot generate (no tokenizer
                                 * vocabulary, a family not implemented yet); 0: open for inspection or
                                 * conversion only */
} nd_model_params;

/* A loaded model: its weights memory-mapped (or converted), its family recognised. Generation calls on one
 * model are serialised by the library; info and tensor queries are thread-safe. */
typedef struct nd_model nd_model;

/* Fills `params` with defaults (set params->struct_size first, as for nd_context_params_init). Thread-safe. */
ND_API nd_status nd_model_params_init(nd_model_params* params);

/* Loads a model. `context` may be NULL (no logging). Malformed files give ND_STATUS_INVALID_FORMAT, models of
 * an unknown kind ND_STATUS_UNSUPPORTED ("unsupported model: ..."), a missing tokenizer vocabulary (with
 * for_generation set) ND_STATUS_NOT_FOUND saying where it looked and how to provide one. On failure
 * *out_model is NULL. Free the model with nd_model_free. */
ND_API nd_status nd_model_load(nd_context* context, const nd_model_params* params, nd_model** out_model);

/* Frees a model once no call on it is running; NULL is ignored. */
ND_API void nd_model_free(nd_model* model);

typedef struct nd_model_info {
    uint32_t struct_size;
    nd_model_family family;
    const char* family_name;       /* "SD 1.x", "SD 2.x", "SDXL base", "SDXL refiner" */
    const char* layout;            /* "single-file checkpoint", "diffusers folder", "GGUF" */
    nd_prediction_type prediction; /* as resolved: epsilon or v */
    const char* prediction_source; /* "override", "metadata", "marker key", "scheduler config", "default" */
    uint32_t components;           /* nd_model_component_flags present */
    const char* tokenizer_source;  /* where the vocabulary came from; "" when none was found */
    uint64_t tensor_count;
    uint64_t weight_bytes;         /* of all weights, as held (after any conversion) */
} nd_model_info;

/* Describes the model (set out->struct_size first). Strings live as long as the model. Thread-safe. */
ND_API nd_status nd_model_get_info(const nd_model* model, nd_model_info* out);

/* Number of weights, sorted by canonical (original-layout) name. Thread-safe. */
ND_API size_t nd_model_tensor_count(const nd_model* model);

/* Describes weight `index` under its canonical name (data_offset is 0: weights may come from several files);
 * ND_STATUS_NOT_FOUND past the end. Pointers live as long as the model. Thread-safe. */
ND_API nd_status nd_model_tensor(const nd_model* model, size_t index, nd_tensor_info* out);

/* ------------------------------------------------------------ cancellation */

/* A flag another thread sets to stop a long operation (generation, conversion). The operation checks it
 * between steps and inside long stages, then returns ND_STATUS_CANCELLED and leaves its model usable. */
typedef struct nd_cancel_token nd_cancel_token;

/* Creates a token (not cancelled); free it with nd_cancel_token_free once no operation uses it. */
ND_API nd_status nd_cancel_token_create(nd_cancel_token** out_token);

/* Asks operations that use `token` to stop. Thread-safe, callable from any thread; NULL is ignored. */
ND_API void nd_cancel_token_cancel(nd_cancel_token* token);

/* Whether nd_cancel_token_cancel was called (0 or 1). Thread-safe; NULL gives 0. */
ND_API int32_t nd_cancel_token_is_cancelled(const nd_cancel_token* token);

/* Frees a token; NULL is ignored. */
ND_API void nd_cancel_token_free(nd_cancel_token* token);

/* ------------------------------------------------------------- conversion */

/* Receives the progress of a conversion: `done` of `total` tensors written, `tensor` the one just written
 * (valid during the call). Called on the converting thread; must not unwind. */
typedef void (*nd_convert_progress_callback)(uint64_t done, uint64_t total, const char* tensor, void* user_data);

typedef struct nd_convert_params {
    uint32_t struct_size;
    const char* output_path;    /* the .gguf file to write; replaced only when the conversion succeeds */
    int32_t weight_type;        /* an nd_dtype (F16, Q8_0, Q4_0, Q4_K, ...) for the weights the per-tensor rules
                                 * convert (docs/formats.md), or ND_WEIGHT_TYPE_AS_STORED; default F16 */
    nd_convert_progress_callback progress; /* may be NULL */
    void* progress_user_data;
    nd_cancel_token* cancel;    /* may be NULL */
    int32_t portable;           /* nonzero: convolution kernels stay F16 and 4-D, so that stable-diffusion.cpp
                                 * also reads the file (it cannot read quantized kernels); default 0 */
} nd_convert_params;

/* Fills `params` with defaults (set params->struct_size first). Thread-safe. */
ND_API nd_status nd_convert_params_init(nd_convert_params* params);

/* Writes `model` as a self-contained GGUF file (weights, model family, tokenizer vocabulary when the model
 * has one), tensor by tensor: memory holds at most one converted tensor beyond the model. */
ND_API nd_status nd_model_convert(nd_model* model, const nd_convert_params* params);

/* ------------------------------------------------------------- generation */

typedef enum nd_rng {
    ND_RNG_CPU = 0, /* PyTorch's CPU generator (mt19937): what diffusers gives on a CPU */
    ND_RNG_CUDA = 1 /* PyTorch's CUDA generator (Philox): what most web UIs give for a seed */
} nd_rng;

typedef enum nd_stage {
    ND_STAGE_TEXT_ENCODING = 0,
    ND_STAGE_SAMPLING = 1,
    ND_STAGE_DECODING = 2
} nd_stage;

typedef struct nd_progress {
    uint32_t struct_size;
    nd_stage stage;
    uint32_t step;   /* sampling steps done for this image */
    uint32_t steps;
    uint32_t image;  /* 0-based index in the batch */
    uint32_t images;
    double seconds_last_step;
    double seconds_elapsed; /* since the request started */
} nd_progress;

/* An RGB image: width * height pixels of 3 bytes, rows of `stride` bytes, top row first. */
typedef struct nd_image {
    uint32_t struct_size;
    uint32_t width;
    uint32_t height;
    uint32_t channels; /* 3 */
    size_t stride;
    const uint8_t* pixels;
    uint64_t seed;     /* the seed that made it */
} nd_image;

/* Receives progress; `progress` is valid during the call. Called on the generating thread; must not unwind
 * nor call into the library with the same model. */
typedef void (*nd_progress_callback)(const nd_progress* progress, void* user_data);

/* Receives a cheap preview of the image being made (decoded by a linear map of the latents, not the VAE);
 * `preview` and its pixels are valid during the call only. Same rules as nd_progress_callback. */
typedef void (*nd_preview_callback)(const nd_image* preview, uint32_t step, void* user_data);

typedef struct nd_generate_params {
    uint32_t struct_size;
    const char* prompt;          /* UTF-8, with the web UI's weighting syntax: (word:1.2), [word], BREAK */
    const char* negative_prompt; /* NULL or "": none */
    uint32_t width;              /* multiples of 8; default 512 */
    uint32_t height;
    uint32_t steps;              /* default 20 */
    float cfg_scale;             /* default 7; 1 skips the unconditional pass */
    const char* sampler;         /* "euler", "euler_a" (default), "heun", "dpm2", "dpmpp_2m", "dpmpp_2s_a",
                                  * "dpmpp_sde", "ddim", "lcm" */
    const char* schedule;        /* "default" (the sampler's own), "karras", "exponential", "sgm_uniform" */
    const char* timestep_spacing; /* "leading", "linspace", "trailing"; NULL: the sampler's default */
    uint64_t seed;
    nd_rng rng;                  /* default ND_RNG_CPU */
    uint32_t batch_count;        /* images made with seeds seed, seed + 1, ...; default 1 */
    uint32_t clip_skip;          /* 0 (default): the family's; 2: the penultimate text-encoder layer */
    const uint8_t* init_image;   /* img2img: width * height RGB pixels (stride width * 3); NULL: txt2img */
    float strength;              /* img2img: how much of the init image is re-noised, (0, 1]; default 0.75 */
    nd_progress_callback progress; /* may be NULL */
    void* progress_user_data;
    nd_preview_callback preview;   /* may be NULL */
    void* preview_user_data;
    uint32_t preview_interval;   /* steps between previews; 0 (default): none */
    nd_cancel_token* cancel;     /* may be NULL */
} nd_generate_params;

/* Images made by nd_generate, owned by the library until nd_images_free. */
typedef struct nd_images nd_images;

/* Fills `params` with defaults (set params->struct_size first). Thread-safe. */
ND_API nd_status nd_generate_params_init(nd_generate_params* params);

/* Generates images. Bad requests give ND_STATUS_INVALID_ARGUMENT naming the field, unknown sampler or schedule
 * names ND_STATUS_NOT_FOUND listing the valid ones, a cancel ND_STATUS_CANCELLED; the model stays usable
 * after any failure. Calls on one model run one at a time (others wait). On failure *out_images is NULL. */
ND_API nd_status nd_generate(nd_model* model, const nd_generate_params* params, nd_images** out_images);

/* Number of images. Thread-safe. */
ND_API size_t nd_images_count(const nd_images* images);

/* Describes image `index` (set out->struct_size first); pixels stay valid until nd_images_free.
 * ND_STATUS_NOT_FOUND past the end. Thread-safe. */
ND_API nd_status nd_images_get(const nd_images* images, size_t index, nd_image* out);

/* Frees the images; NULL is ignored. */
ND_API void nd_images_free(nd_images* images);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_DIFFUSION_H */
