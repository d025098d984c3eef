#include "cli/log_format.hpp"

#include <spdlog/pattern_formatter.h>

#include "core/text.hpp"

namespace prom::cli {

namespace {

// `%*`: the message, one line whatever it quotes.
class escaped_message final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        std::string line = log_line(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<escaped_message>();
    }
};

}  // namespace

std::unique_ptr<spdlog::formatter> log_formatter() {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<escaped_message>('*').set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] %*");
    return f;
}

}  // namespace prom::cli
