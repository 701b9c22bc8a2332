// What an nd_cancel_token handle points to.
#pragma once

#include "pipeline/generation.hpp"

struct nd_cancel_token {
    nd::pipeline::CancelFlag flag;
};
