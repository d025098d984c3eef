// The sandbox's metered string.find/match/gmatch/gsub against Lua's own (the same harness as
// tests/unit/lua_metered_lib_test.cpp): a pattern, a subject and a replacement split by NUL
// bytes; every answer, error messages included, must be the same. Lua's own matcher has no
// bound, so inputs it could spend long on are skipped: subjects over 48 bytes, patterns over
// 48 bytes or with more than 3 quantifiers.
#include <algorithm>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "support/lua_string_harness.hpp"

namespace {

using namespace prom::test::lua_strings;

std::string_view next_part(std::string_view& rest) {
    const auto nul = rest.find('\0');
    std::string_view part = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
    return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static pair states;
    static auto sandbox = pair::make_sandbox(std::uint64_t{1} << 40, std::chrono::seconds(60));
    prom::fuzz::require(states.ok() && sandbox != nullptr);
    std::string_view rest = prom::fuzz::as_text(data, size);
    const std::string pattern(next_part(rest));
    const std::string subject(next_part(rest));
    const std::string replacement(next_part(rest));
    const auto quantifiers = std::count_if(pattern.begin(), pattern.end(), [](char c) {
        return c == '*' || c == '+' || c == '-' || c == '?';
    });
    if (pattern.size() > 48 || subject.size() > 48 || quantifiers > 3) return 0;

    auto same = [&](const char* function, const std::vector<arg>& args) {
        const auto expected = states.in_reference(function, args);
        const auto got = pair::in_sandbox(*sandbox, function, args);
        if (got != expected) {
            std::fprintf(stderr, "%s\nLua:     %s\nsandbox: %s\n",
                         pair::describe(function, args).c_str(), expected.c_str(), got.c_str());
            prom::fuzz::property_failed();
        }
    };
    for (const char* f : {"find", "match"}) {
        same("call", {str(f), str(subject), str(pattern)});
        same("call", {str(f), str(subject), str(pattern), num(2)});
    }
    same("gmatch_all", {str(subject), str(pattern)});
    same("gsub_with", {str(subject), str(pattern), str("string"), str(replacement)});
    same("gsub_with", {str(subject), str(pattern), str("table")});
    same("gsub_with", {str(subject), str(pattern), str("function"), arg{}, num(3)});
    return 0;
}
