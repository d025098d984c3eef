// The sandbox's metered string.find/match/gmatch/gsub (src/userproj/lua_pattern.*,
// lua_metered_lib.*) against Lua's own: the same results and error messages for hand-picked
// and random patterns, and a bound on the work that Lua's versions do inside one C call,
// where neither the count hook nor the time limit could stop them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "support/lua_string_harness.hpp"
#include "userproj/lua_sandbox.hpp"

namespace prom::userproj {
namespace {

using namespace test::lua_strings;

class lua_metered_lib : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(states_.ok());
        sandbox_ = make_sandbox(std::uint64_t{1} << 50, std::chrono::seconds(600));
        ASSERT_TRUE(sandbox_);
    }
    static std::unique_ptr<lua_sandbox> make_sandbox(std::uint64_t budget,
                                                     std::chrono::milliseconds time_limit) {
        return pair::make_sandbox(budget, time_limit);
    }
    std::string in_reference(const char* function, std::vector<arg> args) {
        return states_.in_reference(function, std::move(args));
    }
    static std::string in_sandbox(lua_sandbox& s, const char* function, std::vector<arg> args) {
        return pair::in_sandbox(s, function, std::move(args));
    }
    // Both states give the same answer; returns it.
    std::string same(const char* function, const std::vector<arg>& args) {
        auto expected = in_reference(function, args);
        auto got = in_sandbox(*sandbox_, function, args);
        EXPECT_EQ(got, expected) << pair::describe(function, args);
        return got;
    }

    pair states_;
    std::unique_ptr<lua_sandbox> sandbox_;
};

TEST_F(lua_metered_lib, hand_picked_patterns_match_as_in_lua) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"hello world", "o w"},
        {"hello world", "(o)(r)"},
        {"hello world", "^(h)(e)"},
        {"hello world", "l+"},
        {"hello world", "l*o"},
        {"hello world", "l-o"},
        {"hello world", "x?h"},
        {"key = value", "(%w+)%s*=%s*(%w+)"},
        {"a,b,,c", "([^,]*)"},
        {"THE (quick) fox", "%((%a+)%)"},
        {"f(a(b)c)d", "%b()"},
        {"THE (quick) fox", "%f[%a]%a+"},
        {"hello", "()ll()"},
        {"abcabc", "(abc)%1"},
        {"x", "%"},
        {"x", "[a"},
        {"x", "[]"},
        {"x", "(x"},
        {"x", "x)"},
        {"x", "%1"},
        {"x", "%bx"},
        {"x", "%f"},
        {"x", "%fx"},
        {"]", "[]]"},
        {"a-b", "[a%-b]+"},
        {"^$", "%^%$"},
        {"a$b", "a$b"},
        {"", ""},
        {"", "^$"},
        {"abc", ""},
        {"abc", "$"},
        {"a.b", "."},
        {"a.b", "%."},
        {"\t x", "%s+()"},
        {"0x1F", "%x+"},
        {"aaa", "a-$"},
        {std::string("a\0b", 3), "%z"},
        {std::string("a\0b", 3), std::string("\0", 1)},
        {"((((((((((((((((((((((((((((((((((x", std::string(33, '(') + "x" + std::string(33, ')')},
        {std::string(300, 'a'), std::string(300, '(') + std::string(300, ')')},
    };
    for (const auto& [s, p] : cases) {
        for (const char* f : {"find", "match"}) same("call", {str(f), str(s), str(p)});
        same("call", {str("find"), str(s), str(p), num(2)});
        same("call", {str("find"), str(s), str(p), num(-3), str("plain")});
        same("gmatch_all", {str(s), str(p)});
        for (const char* r : {"<%0>", "%1%2", "%%", "%", "%x", "%9"}) {
            same("gsub_with", {str(s), str(p), str("string"), str(r)});
        }
        same("gsub_with", {str(s), str(p), str("table")});
        same("gsub_with", {str(s), str(p), str("function"), arg{}, num(2)});
    }
    EXPECT_EQ(same("call", {str("match"), str("key = value"), str("(%w+)%s*=%s*(%w+)")}),
              "true,string:key,string:value");
    EXPECT_NE(
        same("call", {str("find"), str("x"), str("%")}).find("malformed pattern (ends with '%')"),
        std::string::npos);
    same("call", {str("find"), num(12345), str("3")});              // numbers are strings here
    same("call", {str("find"), arg{}, str("x")});                   // the argument error
    same("gsub_with", {str("x"), str("x"), str("string"), arg{}});  // a nil replacement
}

TEST_F(lua_metered_lib, random_patterns_match_as_in_lua) {
    const std::vector<std::string> tokens = {
        ".",      "%a",     "%d", "%s",   "%w",    "%p",    "%x",    "%u",  "%l",   "%c",
        "%g",     "%A",     "%S", "%W",   "[a-c]", "[^ab]", "[%a_]", "[]]", "[^]]", "a",
        "b",      "c",      " ",  "(",    ")",     "()",    "%1",    "%2",  "%b()", "%bab",
        "%f[%w]", "%f[%W]", "^",  "$",    "*",     "+",     "-",     "?",   "%",    "[",
        "]",      "%(",     "%.", "[a-]", "[%]]",  "%0",    "%z",    "x",   "ab",   "(a*)"};
    const std::string alphabet = "abc ()[]%_-1.\tx";
    std::mt19937 rng(20261205);
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<lua_Integer> inits = {1, 2, 0, -1, -4, 30};
    const std::vector<std::string> replacements = {"<%0>", "%1|%2", "%%", "-", "%3", "%"};
    int found = 0;
    for (int round = 0; round < 20000; round++) {
        std::string p;
        for (std::size_t n = 1 + pick(5); n > 0; n--) p += tokens[pick(tokens.size())];
        std::string s;
        for (std::size_t n = pick(24); n > 0; n--) s += alphabet[pick(alphabet.size())];
        const lua_Integer init = inits[pick(inits.size())];
        same("call", {str("find"), str(s), str(p), num(init)});
        same("call", {str("match"), str(s), str(p), num(init)});
        same("gmatch_all", {str(s), str(p), num(init)});
        const char* kinds[] = {"string", "table", "function"};
        const char* kind = kinds[pick(3)];
        same("gsub_with", {str(s), str(p), str(kind), str(replacements[pick(replacements.size())]),
                           pick(3) == 0 ? num(static_cast<lua_Integer>(pick(3))) : arg{}});
        if (HasFailure()) break;  // one mismatch says enough
        if (same("call", {str("find"), str(s), str(p)}).starts_with("true,integer")) found++;
    }
    // Random patterns are mostly errors or misses; enough of them must match to mean much.
    EXPECT_GT(found, 3000) << found;
}

TEST_F(lua_metered_lib, backtracking_runs_into_the_budget_and_the_time_limit) {
    const std::string subject(30000, 'a');
    auto started = std::chrono::steady_clock::now();
    auto budgeted = make_sandbox(1'000'000, std::chrono::seconds(600));
    for (const char* f : {"find", "match"}) {
        EXPECT_NE(in_sandbox(*budgeted, "call", {str(f), str(subject), str(".-.-.-.-.-b")})
                      .find("instruction budget (1000000 per event) is exhausted"),
                  std::string::npos);
    }
    EXPECT_NE(in_sandbox(*budgeted, "gmatch_all", {str(subject), str("(a*)*b")})
                  .find("instruction budget"),
              std::string::npos);
    EXPECT_NE(in_sandbox(*budgeted, "gsub_with",
                         {str(subject), str("a-a-a-a-b"), str("string"), str("x")})
                  .find("instruction budget"),
              std::string::npos);
    // Lua's own find would run for hours on the first of these.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));

    auto timed = make_sandbox(std::uint64_t{1} << 50, std::chrono::milliseconds(200));
    started = std::chrono::steady_clock::now();
    EXPECT_NE(in_sandbox(*timed, "call", {str("find"), str(subject), str(".-.-.-.-.-b")})
                  .find("time limit (200 ms per event) is exhausted"),
              std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    // The state still works, and an ordinary match fits the budget many times over.
    EXPECT_EQ(in_sandbox(*budgeted, "call", {str("match"), str("id=42"), str("id=(%d+)")}),
              "true,string:42");
}

// Lua's table.sort compares in C: 20,000 copies of a 1 MB string took ~8 s in one call, far
// past the time limit. The sandbox's compares in Lua, so the limit stops it.
TEST_F(lua_metered_lib, sorting_long_strings_is_stopped_by_the_time_limit) {
    auto timed = make_sandbox(std::uint64_t{1} << 50, std::chrono::milliseconds(200));
    auto started = std::chrono::steady_clock::now();
    EXPECT_NE(in_sandbox(*timed, "sort_long", {num(20000)})
                  .find("time limit (200 ms per event) is exhausted"),
              std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    // Sorting still sorts, with or without a comparator, and refuses what it refused.
    EXPECT_EQ(in_sandbox(*sandbox_, "sorted", {str("default")}), "a,b,b,c");
    EXPECT_EQ(in_sandbox(*sandbox_, "sorted", {str("reverse")}), "c,b,b,a");
    EXPECT_NE(in_sandbox(*sandbox_, "sorted", {str("mixed")}).find("attempt to compare"),
              std::string::npos);
}

TEST_F(lua_metered_lib, loops_in_c_without_allocation_are_charged) {
    auto budgeted = make_sandbox(1'000'000, std::chrono::seconds(600));
    auto started = std::chrono::steady_clock::now();
    // Lua's string.rep copies nothing 2^40 times, table.move moves 2^40 nils: hours each.
    EXPECT_NE(in_sandbox(*budgeted, "call", {str("rep"), str(""), num(lua_Integer{1} << 40)})
                  .find("instruction budget"),
              std::string::npos);
    EXPECT_NE(in_sandbox(*budgeted, "move", {num(lua_Integer{1} << 40)}).find("instruction budget"),
              std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    // Within the budget they answer as Lua's do.
    EXPECT_EQ(in_sandbox(*budgeted, "call", {str("rep"), str("ab"), num(3), str(",")}),
              "true,string:ab,ab,ab");
    EXPECT_EQ(in_sandbox(*budgeted, "move", {num(1000)}), "true,integer:4");
    same("move", {num(3)});
    // table.insert and table.remove shift one element per instruction; a __len of 2^50 made
    // Lua's shift nils for hours.
    for (const char* how : {"insert", "remove"}) {
        EXPECT_NE(in_sandbox(*budgeted, "shift", {str("long"), num(lua_Integer{1} << 50), str(how)})
                      .find("instruction budget"),
                  std::string::npos)
            << how;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    same("shift", {str("long"), num(100), str("insert")});
    same("shift", {str("long"), num(100), str("remove")});
    same("shift", {str("append"), str("v")});
    for (lua_Integer pos : {-1, 0, 1, 3, 4, 5}) {
        same("shift", {str("insert"), num(pos), str("v")});
        same("shift", {str("remove"), num(pos)});
    }
    same("shift", {str("too_many"), num(1), str("v")});
    same("shift", {str("remove_last")});
    same("shift", {str("not_a_table"), arg{}});
    same("shift", {str("not_a_table"), str("text")});
    same("call", {str("rep"), str("x"), num(0)});
    same("call", {str("rep"), str("x"), num(-1)});
    same("call", {str("rep"), arg{}, num(2)});
    // A plain find is linear: a needle that nearly matches everywhere, 1 MiB of it.
    const std::string hay(1 << 20, 'a');
    const std::string needle = std::string(4096, 'a') + "b";
    EXPECT_EQ(in_sandbox(*budgeted, "call",
                         {str("find"), str(hay + needle), str(needle), num(1), str("plain")}),
              "true,integer:1048577,integer:1052673");
}

// A table chained to 2000 others by __index: each missing element a library function reads
// walks all of them inside one C call, where the count hook never runs (found from outside:
// table.unpack(t, 1, 999000) took ~20 s, twenty times the time limit). They are charged per
// link, and table.sort calls a C comparator from Lua.
TEST_F(lua_metered_lib, metatable_chains_walked_in_c_are_charged_per_link) {
    auto budgeted = make_sandbox(1'000'000, std::chrono::seconds(600));
    auto started = std::chrono::steady_clock::now();
    for (const char* kind : {"unpack", "concat", "move", "gsub"}) {
        EXPECT_NE(in_sandbox(*budgeted, "chained", {str(kind), num(1990), num(999000)})
                      .find("instruction budget"),
                  std::string::npos)
            << kind;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    auto timed = make_sandbox(std::uint64_t{1} << 50, std::chrono::milliseconds(200));
    started = std::chrono::steady_clock::now();
    EXPECT_NE(in_sandbox(*timed, "chained", {str("sort"), num(1990), num(200000)})
                  .find("time limit (200 ms per event) is exhausted"),
              std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    // A short chain within the budget answers as Lua does.
    for (const char* kind : {"unpack", "concat", "move", "gsub", "sort"}) {
        same("chained", {str(kind), num(3), num(50)});
    }
    same("chained", {str("unpack"), num(0), num(2'000'000)});  // too many results: Lua's words
}

}  // namespace
}  // namespace prom::userproj
