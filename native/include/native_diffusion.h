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

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_DIFFUSION_H */
