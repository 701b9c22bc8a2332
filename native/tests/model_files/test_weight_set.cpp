#include "model_files/weight_set.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace nd::model_files {
namespace {

core::Tensor small() {
    return core::Tensor::empty(ND_DTYPE_F32, {2});
}

TEST(WeightSet, Names_with_prefix_are_sorted_and_exact) {
    WeightSet w;
    w.add("b.y", small());
    w.add("a.x", small());
    w.add("b.x", small());
    w.add("bb.x", small());
    EXPECT_EQ(w.names_with_prefix("b."), (std::vector<std::string>{"b.x", "b.y"}));
    EXPECT_TRUE(w.names_with_prefix("c.").empty());
    EXPECT_EQ(w.size(), 4u);
}

TEST(WeightSet, Duplicate_add_and_absent_replace_are_errors_naming_the_weight) {
    WeightSet w;
    w.add("a", small());
    try {
        w.add("a", small());
        FAIL() << "added twice";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(error.message().find("'a'"), std::string::npos);
    }
    EXPECT_THROW(w.replace("b", small()), core::Error);
}

TEST(WeightSet, Require_names_the_missing_weight_and_erase_reports_presence) {
    WeightSet w;
    w.add("a", small());
    EXPECT_TRUE(w.erase("a"));
    EXPECT_FALSE(w.erase("a"));
    try {
        (void)w.require("a");
        FAIL() << "found an erased weight";
    } catch (const core::Error& error) {
        EXPECT_NE(error.message().find("missing weight 'a'"), std::string::npos);
    }
    EXPECT_EQ(w.find("a"), nullptr);
}

} // namespace
} // namespace nd::model_files
