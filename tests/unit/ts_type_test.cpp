// prom gen ts's types of a schema (schema/ts_generator.hpp, docs/schemas.md).
#include <gtest/gtest.h>

#include <string>

#include "prom/json.hpp"
#include "schema/ts_generator.hpp"

namespace prom::schema {
namespace {

// Definitions that each use the next twice doubled the text at every step: a 2 KB schema
// of 20 such definitions made a 257 MB file (found from outside). Past the bound of
// expansions the rest is `unknown`, and the text stays small.
TEST(ts_type, shared_references_do_not_grow_the_text_exponentially) {
    json::object defs;
    const int n = 24;
    for (int i = 0; i < n; ++i) {
        const std::string next = "#/definitions/d" + std::to_string(i + 1);
        defs["d" + std::to_string(i)] =
            json::object{{"type", "object"},
                         {"properties", json::object{{"a", json::object{{"$ref", next}}},
                                                     {"b", json::object{{"$ref", next}}}}}};
    }
    defs["d" + std::to_string(n)] = json::object{{"type", "string"}};
    const json::value root = json::object{{"definitions", defs}, {"$ref", "#/definitions/d0"}};
    const std::string text = ts_type_of(root, root);
    EXPECT_LT(text.size(), 4'000'000u);
    EXPECT_NE(text.find("unknown"), std::string::npos);
    // A small chain is written out whole.
    json::object two;
    two["d0"] = json::object{
        {"type", "object"},
        {"properties", json::object{{"a", json::object{{"$ref", "#/definitions/d1"}}}}}};
    two["d1"] = json::object{{"type", "string"}};
    const json::value small = json::object{{"definitions", two}, {"$ref", "#/definitions/d0"}};
    const std::string whole = ts_type_of(small, small);
    EXPECT_NE(whole.find("string"), std::string::npos) << whole;
    EXPECT_EQ(whole.find("unknown"), std::string::npos) << whole;
}

}  // namespace
}  // namespace prom::schema
