// Checks every `prom` option's value before any command runs (docs/README's exit codes: 2
// for bad input, and nothing changes).
#include <charconv>
#include <limits>

#include "cli/commands.hpp"

namespace prom::cli {

CLI::Validator whole_number(std::int64_t min, std::int64_t max) {
    return CLI::Validator(
        [min, max](std::string& text) -> std::string {
            std::int64_t v = 0;
            const char* end = text.data() + text.size();
            // from_chars takes no '+' and no spaces, and reports a value past int64 instead of
            // clamping it (CLI11's own conversion clamps, and wraps -1 into an unsigned).
            auto [at, ec] = std::from_chars(text.data(), end, v);
            if (ec != std::errc{} || at != end || v < min || v > max) {
                std::string range = "from " + std::to_string(min);
                range += max == std::numeric_limits<std::int64_t>::max()
                             ? " up (at most 2^63-1)"
                             : " to " + std::to_string(max);
                return "'" + text + "' is not a whole number " + range;
            }
            return {};
        },
        "", "whole number");
}

void refuse_empty_values(CLI::App& app) {
    for (CLI::Option* o : app.get_options()) {
        if (o->get_expected_max() == 0) continue;  // a flag: no value
        // `--id ""` from an unset variable would otherwise act as if the option were absent:
        // a retry with a fresh id, a bound ignored, every topic compacted.
        const bool positional = o->get_positional();
        o->check(CLI::Validator(
            [positional](std::string& text) -> std::string {
                if (!text.empty()) return {};
                return positional ? "must not be empty"
                                  : "an empty value is not allowed (leave the option out)";
            },
            "", "not empty"));
    }
    for (CLI::App* sub : app.get_subcommands({})) refuse_empty_values(*sub);
}

}  // namespace prom::cli
