// Where the shared test data lies: ../shared/fixtures beside the repository (shared/fixtures/README.md).
#pragma once

#include <filesystem>
#include <string>

namespace nd::testing {

inline std::filesystem::path fixtures_dir() {
    return std::filesystem::path(ND_SOURCE_DIR).parent_path() / "shared" / "fixtures";
}

// Why a test that needs `file` cannot run, or "" when it can.
inline std::string missing_fixture_reason(const std::filesystem::path& file) {
    if (std::filesystem::is_regular_file(file)) {
        return {};
    }
    return "fixture " + file.string() +
           " is missing: the shared test data must be checked out at ../shared beside the repository";
}

} // namespace nd::testing

// Skips the calling test, saying which fixture is missing.
#define ND_SKIP_IF_FIXTURE_MISSING(file)                                                                     \
    do {                                                                                                     \
        const std::string nd_skip_reason = nd::testing::missing_fixture_reason(file);                        \
        if (!nd_skip_reason.empty()) {                                                                       \
            GTEST_SKIP() << nd_skip_reason;                                                                  \
        }                                                                                                    \
    } while (false)
