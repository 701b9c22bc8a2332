// What an nd_context handle points to. Shared by the C functions that take a context.
#pragma once

#include "core/logger.hpp"
#include "native_diffusion.h"

struct nd_context {
    nd::core::Logger logger;
};
