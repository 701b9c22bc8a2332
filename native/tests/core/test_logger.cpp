#include "core/logger.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace nd::core {
namespace {

struct Received {
    std::vector<std::pair<nd_log_level, std::string>> messages;
};

void record(nd_log_level level, const char* message, void* user_data) {
    static_cast<Received*>(user_data)->messages.emplace_back(level, message);
}

TEST(Logger, Default_logger_is_silent) {
    const Logger logger;
    EXPECT_FALSE(logger.enabled(ND_LOG_LEVEL_ERROR));
    logger.log(ND_LOG_LEVEL_ERROR, "nothing receives {}", 1); // must not crash without a callback
}

TEST(Logger, Messages_reach_the_callback_with_user_data_and_level) {
    Received received;
    const Logger logger(record, &received, ND_LOG_LEVEL_TRACE);
    logger.log(ND_LOG_LEVEL_WARNING, "{} tensors", 3);
    ASSERT_EQ(received.messages.size(), 1u);
    EXPECT_EQ(received.messages[0].first, ND_LOG_LEVEL_WARNING);
    EXPECT_EQ(received.messages[0].second, "3 tensors");
}

TEST(Logger, Messages_below_the_minimum_level_are_dropped) {
    Received received;
    const Logger logger(record, &received, ND_LOG_LEVEL_INFO);
    EXPECT_FALSE(logger.enabled(ND_LOG_LEVEL_DEBUG));
    logger.log(ND_LOG_LEVEL_DEBUG, "dropped");
    logger.log(ND_LOG_LEVEL_INFO, "kept");
    ASSERT_EQ(received.messages.size(), 1u);
    EXPECT_EQ(received.messages[0].second, "kept");
}

TEST(Logger, Minimum_level_none_logs_nothing) {
    Received received;
    const Logger logger(record, &received, ND_LOG_LEVEL_NONE);
    logger.log(ND_LOG_LEVEL_ERROR, "dropped");
    logger.log(ND_LOG_LEVEL_NONE, "dropped too");
    EXPECT_TRUE(received.messages.empty());
}

} // namespace
} // namespace nd::core
