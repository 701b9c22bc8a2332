/* Compiled as C99: proves native_diffusion.h is plain C, and lets the C++ tests pass values that only C
 * may legally pass (any int where an enum is expected), as a C caller or a binding would. */
#include "native_diffusion.h"

const char* c_caller_status_name(int status) {
    return nd_status_name((nd_status)status);
}

const char* c_caller_dtype_name(int dtype) {
    return nd_dtype_name((nd_dtype)dtype);
}

nd_status c_caller_create_context_with_level(int min_log_level, nd_context** out_context) {
    nd_context_params params;
    params.struct_size = sizeof(params);
    nd_status status = nd_context_params_init(&params);
    if (status != ND_STATUS_OK) {
        return status;
    }
    params.min_log_level = (nd_log_level)min_log_level;
    return nd_context_create(&params, out_context);
}
