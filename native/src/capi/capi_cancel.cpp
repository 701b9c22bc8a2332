// Cancel tokens through the C ABI: a flag another thread sets; long operations poll it.
#include <memory>

#include "capi/boundary.hpp"
#include "capi/cancel_token.hpp"
#include "native_diffusion.h"

extern "C" {

nd_status nd_cancel_token_create(nd_cancel_token** out_token) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(out_token, "out_token");
        *out_token = nullptr;
        *out_token = std::make_unique<nd_cancel_token>().release(); // freed by nd_cancel_token_free
    });
}

void nd_cancel_token_cancel(nd_cancel_token* token) {
    if (token != nullptr) {
        token->flag.cancel();
    }
}

int32_t nd_cancel_token_is_cancelled(const nd_cancel_token* token) {
    return token != nullptr && token->flag.cancelled() ? 1 : 0;
}

void nd_cancel_token_free(nd_cancel_token* token) {
    delete token;
}

} // extern "C"
