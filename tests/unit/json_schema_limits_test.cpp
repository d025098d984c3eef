// What the json_schema fuzz target found in src/schema/json_schema.cpp (fuzz/README.md,
// findings 5 and 6; docs/schemas.md, "Patterns"): schemas valijson could not use aborted the
// process, and `pattern` went through std::regex, exponential on a short string and a stack
// overflow on a long one.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/large_stack.hpp"
#include "schema/json_schema.hpp"

namespace prom::schema {
namespace {

json::value parse(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v.has_value()) << text;
    return v ? *v : json::value{};
}

std::shared_ptr<const compiled_schema> compile_or_die(std::string_view text) {
    auto c = compiled_schema::compile(parse(text));
    EXPECT_TRUE(c.has_value()) << text << ": " << (c ? "" : c.error().message);
    return c ? *c : nullptr;
}

TEST(json_schema_limits, a_ref_to_a_missing_definition_is_refused_not_an_abort) {
    auto c = compiled_schema::compile(parse(R"({"$ref":"#/definitions/nope"})"));
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().message, "$ref '#/definitions/nope' points at nothing in this schema");
    EXPECT_EQ(c.error().pointer, "/$ref");
    auto deep = compiled_schema::compile(
        parse(R"({"properties":{"a":{"$ref":"#/definitions/b"}},"definitions":{"c":{}}})"));
    ASSERT_FALSE(deep.has_value());
    EXPECT_EQ(deep.error().pointer, "/properties/a/$ref");
    compile_or_die(R"({"properties":{"a":{"$ref":"#/definitions/b"}},"definitions":{"b":{}}})");
    compile_or_die(R"({"properties":{"a":{"$ref":"#"}}})");
}

// valijson reads strings up to a NUL: such strings are refused, not checked wrong ("user\0admin"
// passed an enum of "user"). Found from outside.
TEST(json_schema_limits, strings_with_nul_are_refused_not_cut) {
    auto c = compile_or_die(R"({"properties":{"role":{"enum":["user"]},"s":{"maxLength":3}}})");
    ASSERT_TRUE(c);
    auto role = c->first_violation(parse(R"({"role":"user\u0000admin"})"));
    ASSERT_TRUE(role);
    EXPECT_EQ(role->pointer, "/role");
    EXPECT_NE(role->message.find("U+0000"), std::string::npos) << role->message;
    auto key = c->first_violation(parse(R"({"a\u0000b":1})"));
    ASSERT_TRUE(key);
    EXPECT_FALSE(c->first_violation(parse(R"({"role":"user","s":"abc"})")));
    auto schema = compiled_schema::compile(parse(R"({"enum":["a\u0000b"]})"));
    ASSERT_FALSE(schema.has_value());
    EXPECT_EQ(schema.error().pointer, "/enum/0");
}

// Numbers compare as doubles: a bound, const or enum number of 2^53 or more cannot be compared
// exactly and is refused; integers beyond it are items of their own in uniqueItems (found from
// outside: a maximum of 2^63-2 let 2^63-1 through, [...567, ...568] were "not unique").
TEST(json_schema_limits, numbers_beyond_two_to_the_53_are_compared_exactly_or_refused) {
    for (auto [text, pointer] : std::vector<std::pair<std::string, std::string>>{
             {R"({"const":12345678901234567})", "/const"},
             {R"({"maximum":9223372036854775806})", "/maximum"},
             {R"({"minimum":-9007199254740992})", "/minimum"},
             {R"({"exclusiveMaximum":1e16})", "/exclusiveMaximum"},
             {R"({"multipleOf":18446744073709551615})", "/multipleOf"},
             {R"({"properties":{"n":{"enum":[1,9007199254740993]}}})", "/properties/n/enum"},
             {R"({"const":{"a":[9007199254740992]}})", "/const"}}) {
        auto c = compiled_schema::compile(parse(text));
        ASSERT_FALSE(c.has_value()) << text;
        EXPECT_EQ(c.error().pointer, pointer) << text;
        EXPECT_NE(c.error().message.find("2^53"), std::string::npos) << c.error().message;
    }
    // Just below: taken, and bigger payload integers are compared right against them.
    auto c = compile_or_die(R"({"maximum":9007199254740991,"minimum":-9007199254740991})");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->first_violation(parse("9007199254740991")));
    EXPECT_TRUE(c->first_violation(parse("9007199254740993")));
    EXPECT_TRUE(c->first_violation(parse("-9223372036854775807")));
    // A property named "maximum" holds a schema, not a bound.
    compile_or_die(R"({"properties":{"maximum":{"type":"integer"}}})");
    auto unique = compile_or_die(R"({"uniqueItems":true})");
    ASSERT_TRUE(unique);
    EXPECT_FALSE(unique->first_violation(parse("[12345678901234567,12345678901234568]")));
    EXPECT_TRUE(unique->first_violation(parse("[12345678901234567,12345678901234567]")));
    EXPECT_TRUE(unique->first_violation(parse("[12345678901234568,1.2345678901234568e16]")));
    EXPECT_TRUE(unique->first_violation(parse("[1,1.0]")));
}

// Integers of 2^63 or more (Boost.JSON's unsigned kind) are neither integers nor doubles to
// valijson: `maximum: 100` and `exclusiveMaximum: 0` let 2^63 through and `"type": "number"`
// refused it. Such a payload is refused with its place, as one with U+0000 (found from outside).
TEST(json_schema_limits, payload_integers_beyond_int64_are_refused_with_their_place) {
    auto c = compile_or_die(R"({"properties":{"n":{"type":"number","maximum":100}}})");
    ASSERT_TRUE(c);
    for (auto [text, pointer] : std::vector<std::pair<std::string, std::string>>{
             {R"({"n":9223372036854775808})", "/n"},
             {R"({"n":1,"m":[0,18446744073709551615]})", "/m/1"}}) {
        auto v = c->first_violation(parse(text));
        ASSERT_TRUE(v) << text;
        EXPECT_EQ(v->pointer, pointer) << text;
        EXPECT_NE(v->message.find("2^63"), std::string::npos) << v->message;
    }
    // One below: an int64, checked against the bound as before.
    auto below = c->first_violation(parse(R"({"n":9223372036854775807})"));
    ASSERT_TRUE(below);
    EXPECT_EQ(below->message.find("2^63"), std::string::npos) << below->message;
    EXPECT_FALSE(c->first_violation(parse(R"({"n":-9223372036854775808})")));
    EXPECT_FALSE(c->first_violation(parse(R"({"n":100})")));
}

// A member name that breaks propertyNames is reported at the object that holds it, with the
// name (found from outside: the path named the object's parent); its pattern is ECMAScript's.
TEST(json_schema_limits, a_property_name_violation_points_at_its_object) {
    auto nested = compile_or_die(
        R"({"properties":{"a":{"properties":{"b":{"propertyNames":{"maxLength":1}}}}}})");
    ASSERT_TRUE(nested);
    auto why = nested->first_violation(parse(R"({"a":{"b":{"xx":1}}})"));
    ASSERT_TRUE(why);
    EXPECT_EQ(why->pointer, "/a/b");
    EXPECT_NE(why->message.find("'xx'"), std::string::npos) << why->message;
    EXPECT_FALSE(nested->first_violation(parse(R"({"a":{"b":{"x":1}}})")));
    auto items = compile_or_die(R"({"items":{"propertyNames":{"maxLength":1}}})");
    ASSERT_TRUE(items);
    auto second = items->first_violation(parse(R"([{"x":1},{"yy":1}])"));
    ASSERT_TRUE(second);
    EXPECT_EQ(second->pointer, "/1");
    auto top = compile_or_die(R"({"propertyNames":{"pattern":"^\\S+$"}})");
    ASSERT_TRUE(top);
    EXPECT_TRUE(top->first_violation(parse(R"({"a\u00a0b":1})")));  // U+00A0 is \s in ECMAScript
    EXPECT_FALSE(top->first_violation(parse(R"({"ab":1})")));
}

// The meta-schema's integer keywords are JSON Schema integers: 5.0 and 1e0 are integers.
TEST(json_schema_limits, integer_keywords_take_whole_numbers_written_with_a_fraction) {
    auto c = compile_or_die(R"({"type":"string","maxLength":5.0,"minLength":1e0})");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->first_violation(parse(R"("abcde")")));
    EXPECT_TRUE(c->first_violation(parse(R"("abcdef")")));
    EXPECT_TRUE(c->first_violation(parse(R"("")")));
    auto items = compile_or_die(R"({"type":"array","maxItems":2.0,"items":{"const":1.0}})");
    ASSERT_TRUE(items);
    EXPECT_FALSE(items->first_violation(parse("[1, 1.0]")));
    EXPECT_TRUE(items->first_violation(parse("[1, 1, 1]")));
    EXPECT_FALSE(compiled_schema::compile(parse(R"({"maxLength":5.5})")).has_value());
}

TEST(json_schema_limits, a_ref_chain_that_loops_is_refused_not_a_stack_overflow) {
    for (const char* text :
         {R"({"$ref":"#"})", R"({"$ref":"#","type":"object"})",
          R"({"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},
              "properties":{"x":{"$ref":"#/definitions/a"}}})",
          // valijson drops trailing slashes, skips empty tokens and decodes %-escapes: these
          // loop as well (the json_schema fuzz target found "#/" in CI).
          R"({"$ref":"#/"})", R"({"$ref":"#//"})",
          R"({"definitions":{"a":{"$ref":"#/definitions//a/"}},"$ref":"#/definitions/a"})",
          R"({"definitions":{"a":{"$ref":"#/definitions/%61"}},"$ref":"#/definitions/a"})",
          R"({"allOf":[{"$ref":"#/allOf/+0"}]})"}) {
        auto c = compiled_schema::compile(parse(text));
        ASSERT_FALSE(c.has_value()) << text;
        EXPECT_NE(c.error().message.find("leads back to itself"), std::string::npos)
            << c.error().message;
    }
    // A recursive schema is fine: the reference sits under a keyword, not in a bare chain.
    EXPECT_NE(compile_or_die(R"({"type":"object","properties":{"child":{"$ref":"#"}}})"), nullptr);
}

// valijson applies allOf, anyOf, oneOf, not, if/then/else and dependencies to the same value:
// a loop through them recursed while checking any payload, until the stack overflowed.
TEST(json_schema_limits, a_loop_that_never_moves_into_the_value_is_refused) {
    for (
        const char* text :
        {R"({"allOf":[{"$ref":"#"}]})", R"({"not":{"not":{"$ref":"#"}}})", R"({"if":{"$ref":"#"}})",
         R"({"anyOf":[true,{"oneOf":[{"$ref":"#/"}]}]})",
         R"({"dependencies":{"a":["b"],"c":{"$ref":"#"}}})",
         R"({"properties":{"x":{"$ref":"#/definitions/a"}},
              "definitions":{"a":{"then":{"$ref":"#/definitions/b"}},"b":{"$ref":"#/definitions/a"}}})",
         // Reached only through a $ref into a place that is not a schema keyword.
         R"({"$ref":"#/const","const":{"properties":{"p":{"allOf":[{"$ref":"#/const/properties/p"}]}}}})"}) {
        auto c = compiled_schema::compile(parse(text));
        ASSERT_FALSE(c.has_value()) << text;
        EXPECT_NE(c.error().message.find("leads back to itself"), std::string::npos)
            << c.error().message;
    }
    // The pointer names a "$ref" of the loop, where it is written.
    auto c = compiled_schema::compile(parse(
        R"({"properties":{"x":{"$ref":"#/definitions/a"}},"definitions":{"a":{"not":{"$ref":"#/properties/x"}}}})"));
    ASSERT_FALSE(c.has_value());
    EXPECT_TRUE(c.error().pointer == "/definitions/a/not/$ref" ||
                c.error().pointer == "/properties/x/$ref")
        << c.error().pointer;
    // The same shapes are fine when each turn moves into a member or an item.
    for (
        const char* text :
        {R"({"allOf":[{"properties":{"next":{"$ref":"#"}}}]})",
         R"({"anyOf":[{"type":"null"},{"type":"array","items":{"$ref":"#"}}]})",
         R"({"not":{"additionalProperties":{"$ref":"#"}}})",
         R"({"allOf":[{"$ref":"#/definitions/a"},{"$ref":"#/definitions/a"}],"definitions":{"a":{}}})"}) {
        EXPECT_NE(compile_or_die(text), nullptr);
    }
}

// A long run of schemas applied to the same value is as deep for valijson as a loop.
TEST(json_schema_limits, a_run_of_same_value_subschemas_has_a_bound) {
    auto chain = [](int links) {
        std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
        for (int i = 0; i < links; ++i) {
            text += "\"d" + std::to_string(i) + R"(":{"allOf":[{"$ref":"#/definitions/d)" +
                    std::to_string(i + 1) + R"("}]},)";
        }
        return text + "\"d" + std::to_string(links) + R"(":{"type":"object"}}})";
    };
    // Each link is two steps: allOf, then its $ref; the first $ref is one more.
    EXPECT_NE(compile_or_die(chain(15)), nullptr);
    auto c = compiled_schema::compile(parse(chain(16)));
    ASSERT_FALSE(c.has_value());
    EXPECT_NE(c.error().message.find("in a row"), std::string::npos) << c.error().message;
}

// valijson compiles a referenced schema where it is first named, by recursion: a chain of
// definitions each naming the next overflowed the stack when it was long enough (5,000 links
// in a release build, 500 under AddressSanitizer).
TEST(json_schema_limits, a_chain_of_references_too_deep_to_compile_is_refused) {
    auto chain = [](int links) {
        std::string text = R"({"$ref":"#/definitions/d0","definitions":{)";
        for (int i = 0; i < links; ++i) {
            text += "\"d" + std::to_string(i) + R"(":{"properties":{"a":{"$ref":"#/definitions/d)" +
                    std::to_string(i + 1) + R"("}}},)";
        }
        return text + "\"d" + std::to_string(links) + R"(":{"type":"object"}}})";
    };
    // The root (1), two schemas per link, the last definition (1): 2 * 999 + 2 = 2000.
    auto refused = compiled_schema::compile(parse(chain(1000)));
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("could nest more than 2000"), std::string::npos)
        << refused.error().message;
    EXPECT_EQ(refused.error().pointer, "/definitions/d998/properties/a/$ref");
    // At the bound it compiles, even asked from a thread with a small stack: compiling runs on
    // a stack of its own (2,000 levels did not fit 256 KiB in any build).
    auto at_the_bound = parse(chain(999));
    bool compiled = false;
    ASSERT_TRUE(run_on_large_stack(std::size_t{256} * 1024, [&] {
        compiled = compiled_schema::compile(at_the_bound).has_value();
    }));
    EXPECT_TRUE(compiled);
}

TEST(json_schema_limits, format_is_an_annotation_on_any_value) {
    auto c = compile_or_die(R"({"format":"date-time"})");
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->first_violation(parse(R"({"a":1})")));
    EXPECT_FALSE(c->first_violation(parse(R"("not a date")")));
}

TEST(json_schema_limits, patterns_keep_their_ecmascript_meaning) {
    auto c = compile_or_die(R"({"type":"string","pattern":"^[a-z]+$"})");
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->first_violation(parse(R"("abc")")));
    // `$` is the end of the text, not of a line, and there is no match in the middle.
    EXPECT_TRUE(c->first_violation(parse(R"("abc\n")")));
    EXPECT_TRUE(c->first_violation(parse(R"("abc\ndef")")));
    auto dot = compile_or_die(R"({"pattern":"^a.c$"})");
    ASSERT_NE(dot, nullptr);
    EXPECT_FALSE(dot->first_violation(parse(R"("abc")")));
    EXPECT_TRUE(dot->first_violation(parse(R"("a\nc")")));
}

// A backreference to a group that took no part in the match matches the empty string, as in
// ECMAScript (and the TypeScript client's is()); Boost alone matched nothing there (found from
// outside: "b" was refused by ^(a)?\1b$). One to a group that took part still matches its text.
TEST(json_schema_limits, backreferences_and_empty_classes_keep_their_ecmascript_meaning) {
    struct pattern_case {
        const char* pattern;
        std::vector<const char*> ok, bad;
    };
    const std::vector<pattern_case> cases = {
        {R"(^(a)?\\1b$)", {R"("b")", R"("aab")"}, {R"("ab")", R"("abb")"}},
        {R"(^(?:(a)|c)\\1$)", {R"("c")", R"("aa")"}, {R"("a")", R"("cc")"}},
        {R"(^(?<n>a)?\\k<n>z$)", {R"("z")", R"("aaz")"}, {R"("az")"}},
        {R"(^(a)|\\1b$)", {R"("b")", R"("a")"}, {R"("c")"}},
        {R"(^(a)(b)?\\2\\1+$)", {R"("aa")", R"("abbaa")"}, {R"("ab")"}},
        // `[]` matches nothing and `[^]` any character (found from outside: both refused).
        {R"(^[^]$)", {R"("x")", R"("\n")", R"("é")"}, {R"("xy")", R"("")"}},
        {R"([]a)", {}, {R"("a")", R"("")", R"("]a")"}},
        {R"(^a[]?b$)", {R"("ab")"}, {R"("a]b")"}},
        {R"(^[^]]$)", {R"("x]")", R"("]]")"}, {R"("x")", R"("]")"}},
    };
    for (const auto& t : cases) {
        auto c = compile_or_die(std::string(R"({"type":"string","pattern":")") + t.pattern + "\"}");
        ASSERT_NE(c, nullptr) << t.pattern;
        for (const char* ok : t.ok)
            EXPECT_FALSE(c->first_violation(parse(ok))) << t.pattern << " " << ok;
        for (const char* bad : t.bad)
            EXPECT_TRUE(c->first_violation(parse(bad))) << t.pattern << " " << bad;
    }
}

// JSON Schema's integer is a number without a fractional part, however it is written.
TEST(json_schema_limits, integer_takes_whole_numbers_written_with_a_fraction_or_exponent) {
    auto c = compile_or_die(
        R"({"type":"object","properties":{"v":{"type":"integer","minimum":-5,"maximum":3000}}})");
    ASSERT_NE(c, nullptr);
    for (const char* ok : {R"({"v":1})", R"({"v":1.0})", R"({"v":2e3})", R"({"v":-0.0})"}) {
        EXPECT_FALSE(c->first_violation(parse(ok))) << ok;
    }
    for (const char* bad : {R"({"v":1.5})", R"({"v":4e3})", R"({"v":"1"})", R"({"v":1e22})"}) {
        EXPECT_TRUE(c->first_violation(parse(bad))) << bad;
    }
}

// multipleOf as docs/schemas.md states it: decimal divisors work despite binary floating
// point, and a whole divisor does not truncate the value's fraction.
TEST(json_schema_limits, multiple_of_takes_decimals_and_does_not_truncate) {
    auto cents = compile_or_die(R"({"multipleOf":0.01})");
    ASSERT_NE(cents, nullptr);
    for (const char* ok : {"19.99", "0.07", "1e3", "-4.35", "0", "12", "1000000.01"}) {
        EXPECT_FALSE(cents->first_violation(parse(ok))) << ok;
    }
    for (const char* bad : {"19.995", "0.001", "1e-9"}) {
        EXPECT_TRUE(cents->first_violation(parse(bad))) << bad;
    }
    auto fives = compile_or_die(R"({"multipleOf":5})");
    ASSERT_NE(fives, nullptr);
    for (const char* ok : {"10", "-15", "10.0", "2e3", "0"}) {
        EXPECT_FALSE(fives->first_violation(parse(ok))) << ok;
    }
    for (const char* bad : {"10.5", "7", "-0.5"}) {
        EXPECT_TRUE(fives->first_violation(parse(bad))) << bad;
    }
}

// multipleOf applies to numbers only (draft 7): a string that reads as a number, or a property
// name checked by propertyNames, is not one (found from outside: "3" was refused by
// {"multipleOf":2}, which the TypeScript client's is() accepted).
TEST(json_schema_limits, multiple_of_leaves_strings_alone) {
    for (const char* schema : {R"({"multipleOf":2})", R"({"multipleOf":1.5})"}) {
        auto c = compile_or_die(schema);
        ASSERT_NE(c, nullptr);
        for (const char* ok : {R"("3")", R"("x")", R"("1e3")", "true", "null", "[3]"}) {
            EXPECT_FALSE(c->first_violation(parse(ok))) << schema << " " << ok;
        }
        EXPECT_TRUE(c->first_violation(parse("7"))) << schema;
    }
    auto names = compile_or_die(R"({"propertyNames":{"multipleOf":1.5}})");
    ASSERT_NE(names, nullptr);
    EXPECT_FALSE(names->first_violation(parse(R"({"1":1,"3":2})")));
    auto nested = compile_or_die(R"({"properties":{"a":{"multipleOf":2}}})");
    ASSERT_NE(nested, nullptr);
    EXPECT_FALSE(nested->first_violation(parse(R"({"a":"3"})")));
    EXPECT_TRUE(nested->first_violation(parse(R"({"a":3})")));
}

// The bound in a refusal is written as the schema wrote it: valijson printed six decimals,
// so 1e-7 read "0.000000" and 100 read "100.000000".
TEST(json_schema_limits, refusals_write_bounds_and_divisors_as_the_schema_does) {
    auto message = [](std::string_view schema, std::string_view payload) {
        auto c = compile_or_die(schema);
        if (!c) return std::string("no schema");
        auto p = c->first_violation(parse(payload));
        return p ? p->message : std::string("accepted");
    };
    EXPECT_EQ(message(R"({"minimum":1e-7})", "0"),
              "Expected number greater than or equal to 1e-07");
    EXPECT_EQ(message(R"({"maximum":100})", "100.5"), "Expected number less than or equal to 100");
    EXPECT_EQ(message(R"({"exclusiveMinimum":0.5})", "0.5"), "Expected number greater than 0.5");
    EXPECT_EQ(message(R"({"exclusiveMaximum":-2.25})", "-2.25"), "Expected number less than -2.25");
    EXPECT_EQ(message(R"({"multipleOf":0.01})", "0.001"), "Value should be a multiple of 0.01");
    EXPECT_EQ(message(R"({"multipleOf":5})", "7"), "Value should be a multiple of 5");
    // The bounds themselves are unchanged: inclusive takes the bound, exclusive does not.
    EXPECT_EQ(message(R"({"minimum":1e-7,"maximum":100})", "1e-7"), "accepted");
    EXPECT_EQ(message(R"({"minimum":1e-7,"maximum":100})", "100"), "accepted");
    EXPECT_EQ(message(R"({"exclusiveMinimum":0.5,"exclusiveMaximum":1})", "0.75"), "accepted");
    EXPECT_EQ(message(R"({"maximum":3})", "\"text\""), "accepted");
}

// As in JavaScript (and `prom gen ts`'s validators): a pattern sees code points, not bytes.
// Patterns and texts are written as they appear in the JSON (a regex escape is `\\u00e9`).
TEST(json_schema_limits, patterns_match_characters_not_bytes) {
    for (const auto& [pattern, text] : std::vector<std::pair<std::string, std::string>>{
             {R"(^.$)", R"(\u00e9)"},
             {R"(^.{1,3}$)", R"(\u00e9\u00e9\u00e9)"},
             {R"(^[\\u00e0-\\u00ff]+$)", R"(\u00e9)"},
             {R"(^\\u00e9$)", R"(\u00e9)"},
             {R"(^[^a]$)", R"(\u00e9)"},
             {R"(^\\S$)", R"(\u00e9)"},
             {R"(^.$)", R"(\ud83d\ude00)"},
             {R"(^\\ud83d\\ude00$)", R"(\ud83d\ude00)"},
             {R"(^\\u{1F600}$)", R"(\ud83d\ude00)"},
         }) {
        auto c = compile_or_die(R"({"type":"string","pattern":")" + pattern + "\"}");
        ASSERT_NE(c, nullptr) << pattern;
        EXPECT_FALSE(c->first_violation(parse("\"" + text + "\""))) << pattern << " " << text;
    }
    auto dot = compile_or_die(R"({"pattern":"^.$"})");
    ASSERT_NE(dot, nullptr);
    EXPECT_TRUE(dot->first_violation(parse(R"("\u00e9\u00e9")")));
    auto names = compile_or_die(
        R"({"type":"object","patternProperties":{"^.$":{"type":"integer"}},"additionalProperties":false})");
    ASSERT_NE(names, nullptr);
    EXPECT_FALSE(names->first_violation(parse(R"({"\u00e9":1})")));
}

// \s and \S are ECMAScript's sets (Unicode spaces, the BOM), in and out of a class, `.`
// stops only at its four line terminators, and \w and \d stay ASCII, as in JavaScript.
TEST(json_schema_limits, space_classes_and_the_dot_are_ecmascripts) {
    struct probe {
        std::string pattern, text;
        bool matches;
    };
    for (const auto& [pattern, text, matches] : std::vector<probe>{
             {R"(^\\s$)", R"(\u00a0)", true},
             {R"(^\\s$)", R"(\u3000)", true},
             {R"(^\\s$)", R"(\ufeff)", true},
             {R"(^\\s$)", R"(\u2028)", true},
             {R"(^\\s$)", "\\t", true},
             {R"(^\\s$)", "x", false},
             {R"(^\\S$)", R"(\u00a0)", false},
             {R"(^\\S$)", R"(\u00e9)", true},
             {R"(^\\S$)", R"(\ud83d\ude00)", true},
             {R"(^[\\s]$)", R"(\u00a0)", true},
             {R"(^[^\\s]$)", R"(\u00a0)", false},
             {R"(^[a\\S]$)", R"(\u00a0)", false},
             {R"(^[\\s\\S]$)", R"(\u00a0)", true},
             {R"(^a\\sb$)", R"(a\u2003b)", true},
             {R"(^\\w$)", R"(\u00e9)", false},
             {R"(^\\d$)", R"(\u0663)", false},
             {R"(^.$)", R"(\f)", true},
             {R"(^.$)", R"(\u0085)", true},
             {R"(^.$)", R"(\u2028)", false},
             {R"(^.$)", R"(\r)", false},
             {R"(^[.]$)", R"(.)", true},
             {R"(^[.]$)", "x", false},
         }) {
        auto c = compile_or_die(R"({"type":"string","pattern":")" + pattern + "\"}");
        ASSERT_NE(c, nullptr) << pattern;
        EXPECT_EQ(!c->first_violation(parse("\"" + text + "\"")), matches)
            << pattern << " " << text;
    }
}

// What Boost's Perl syntax reads but ECMAScript does not have (or reads otherwise) is
// refused when the schema is stored; ECMAScript's own constructs are kept.
TEST(json_schema_limits, patterns_that_are_not_ecmascript_are_refused_when_stored) {
    for (const char* bad :
         {R"((?i)abc)", R"(a++b)", R"(a*+)", R"(a{2}+)", R"((?#note)a)", R"(\\p{L})",
          R"([[:alpha:]])", R"(\\Aabc)", R"(abc\\Z)", R"((?>a))", R"(\\+?+)",
          // Found from outside: JavaScript refuses these, or reads them otherwise.
          R"(a*?+)", R"(a+?+)", R"(a??+)", R"(a**)", R"(*a)", R"(a|?b)", R"((?<n>a)(?<n>b))",
          R"(^\\1(a)$)", R"((a\\1))", R"(\\2(a))", R"(\\k<n>(?<n>a))", R"(^[a-\\d]$)",
          R"(^[\\w-z]$)", R"(^\\x4$)", R"(^\\u004$)", R"(^a{ 1}$)", R"(a{,2})", R"(^\\c1$)"}) {
        auto c = compiled_schema::compile(parse(R"({"pattern":")" + std::string(bad) + "\"}"));
        EXPECT_FALSE(c.has_value()) << bad;
    }
    for (const char* ok :
         {R"((?<y>\\d{4})-\\k<y>)", R"((?<=a)b)", R"((?<!a)b)", R"(a+?b)", R"(a??)", R"(\\:)",
          R"([+*?])", R"(\\++)", R"(^[a-z]+(-[a-z]+)*$)", R"((a)\\1)", R"(a{2,}?)", R"(a{2,5})",
          R"([\\d-])", R"([a-z\\d])", R"(\\x41\\u00e9\\u{1F600}\\cJ)", R"(a}b)", R"((a|b)+?c)"}) {
        EXPECT_NE(compile_or_die(R"({"pattern":")" + std::string(ok) + "\"}"), nullptr) << ok;
    }
}

TEST(json_schema_limits, an_exponential_pattern_refuses_the_payload_in_bounded_time) {
    auto c = compile_or_die(R"({"type":"string","pattern":"^(a*)*b$"})");
    ASSERT_NE(c, nullptr);
    auto start = std::chrono::steady_clock::now();
    // std::regex did not finish this in a minute.
    auto why = c->first_violation(json::value(std::string(40, 'a')));
    ASSERT_TRUE(why);
    EXPECT_NE(why->message.find("backtracking"), std::string::npos) << why->message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_FALSE(c->first_violation(parse(R"("aab")")));
}

TEST(json_schema_limits, many_costly_strings_cost_no_more_than_one) {
    auto c = compile_or_die(R"({"type":"array","items":{"type":"string","pattern":"^(a*)*b$"}})");
    ASSERT_NE(c, nullptr);
    json::array many;
    for (int i = 0; i < 500; ++i) many.emplace_back(std::string(4000, 'a'));
    auto start = std::chrono::steady_clock::now();
    auto why = c->first_violation(json::value(std::move(many)));
    ASSERT_TRUE(why);
    EXPECT_EQ(why->pointer, "/0");
    // Each string alone costs the bound (tens of milliseconds): 500 of them, twice (the
    // second pass says where), cost tens of seconds.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(json_schema_limits, a_long_string_does_not_overflow_the_stack) {
    auto c = compile_or_die(R"({"type":"string","pattern":"^[a-z]*$"})");
    ASSERT_NE(c, nullptr);
    // std::regex recursed once per character: a segmentation fault at 100,000.
    EXPECT_FALSE(c->first_violation(json::value(std::string(1'000'000, 'a'))));
    EXPECT_TRUE(c->first_violation(json::value(std::string(1'000'000, 'a') + "B")));
}

TEST(json_schema_limits, pattern_properties_names_are_checked_when_stored) {
    auto bad = compiled_schema::compile(parse(R"({"patternProperties":{"(":{}}})"));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().pointer, "/patternProperties/(");
    auto c = compile_or_die(
        R"({"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false})");
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->first_violation(parse(R"({"x-a":"s"})")));
    auto why = c->first_violation(parse(R"({"x-a":1})"));
    ASSERT_TRUE(why);
    EXPECT_EQ(why->pointer, "/x-a");
    // A name whose match is too costly is refused, not handed to additionalProperties.
    auto costly = compile_or_die(R"({"patternProperties":{"^(a|a)*b":{"type":"null"}}})");
    ASSERT_NE(costly, nullptr);
    EXPECT_TRUE(costly->first_violation(parse("{\"" + std::string(40, 'a') + "\":1}")));
}

// valijson compared every pair of items: 30,000 numbers held a network thread for 4 s.
TEST(json_schema_limits, unique_items_is_checked_in_one_pass_with_valijsons_equality) {
    auto c = compile_or_die(R"({"type":"array","uniqueItems":true})");
    ASSERT_NE(c, nullptr);
    for (const char* repeated :
         {"[1,1.0]", "[0,-0.0]", "[null,null]", R"([{"a":1,"b":[2]},{"b":[2.0],"a":1}])",
          R"(["x","y","x"])", "[[1,2],[1,2]]"}) {
        EXPECT_TRUE(c->first_violation(parse(repeated))) << repeated;
    }
    for (const char* distinct :
         {R"(["1",1])", "[true,1]", "[[1,2],[2,1]]", R"([{"a":1},{"a":1,"b":null}])",
          R"(["ab","a","b"])", R"([{"ab":"c"},{"a":"bc"}])", "[]"}) {
        EXPECT_FALSE(c->first_violation(parse(distinct))) << distinct;
    }
    json::array many;
    for (int i = 0; i < 30000; ++i) many.emplace_back(i);
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(c->first_violation(json::value(many)));
    many.emplace_back(29998.0);
    auto why = c->first_violation(json::value(many));
    ASSERT_TRUE(why);
    EXPECT_EQ(why->pointer, "/30000");
    EXPECT_NE(why->message.find("#29998 and #30000"), std::string::npos) << why->message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// anyOf/oneOf over references fan out, and items under allOf multiply at each level of the
// payload: both kept a network thread busy for good on a small schema and a small payload.
TEST(json_schema_limits, the_subschemas_one_check_applies_have_a_budget) {
    std::string fan = R"({"$ref":"#/definitions/d0","definitions":{)";
    for (int i = 0; i < 15; ++i) {
        std::string next = R"({"$ref":"#/definitions/d)" + std::to_string(i + 1) + R"("})";
        fan += "\"d" + std::to_string(i) + R"(":{"anyOf":[)";
        for (int branch = 0; branch < 6; ++branch) {
            if (branch > 0) fan += ',';
            fan += next;
        }
        fan += "]},";
    }
    fan += R"("d15":{"type":"string"}}})";
    auto doubling = R"({"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]})";
    const std::string nested = std::string(41, '[') + std::string(41, ']');
    for (auto [schema, payload] :
         {std::pair<std::string, std::string>{fan, "{}"}, {doubling, nested}}) {
        auto c = compile_or_die(schema);
        ASSERT_NE(c, nullptr);
        auto start = std::chrono::steady_clock::now();
        auto why = c->first_violation(parse(payload));
        ASSERT_TRUE(why);
        EXPECT_NE(why->message.find("subschema checks"), std::string::npos) << why->message;
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    }
    // Within the budget, the same schemas still answer.
    EXPECT_FALSE(compile_or_die(doubling)->first_violation(parse("[[[1],[2]],[]]")));
    EXPECT_FALSE(compile_or_die(fan)->first_violation(parse(R"("a string")")));
}

}  // namespace
}  // namespace prom::schema
