// The stored text of an event's headers (storage/row_codec.hpp, encode_headers) is written
// without building a JSON object: it must be exactly canonical_json of that object, for any
// names and values (escapes, control characters, non-ASCII, names that sort differently
// as bytes and as characters).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "prom/json.hpp"
#include "storage/row_codec.hpp"

namespace prom::storage {
namespace {

std::string via_object(const headers_map& headers) {
    json::object o;
    for (const auto& [k, v] : headers) o[k] = v;
    return canonical_json(o);
}

TEST(encode_headers, writes_what_canonical_json_writes_for_the_object) {
    EXPECT_EQ(encode_headers({}), "{}");
    const headers_map named{{"traceparent", "00-4bf9-00f0-01"},
                            {"b", "quote \" backslash \\ tab \t nl \n"},
                            {"A", "\x01\x1f"},
                            {"é", "ü 😀"},
                            {"", ""},
                            {"z\x7f", "del"}};
    EXPECT_EQ(encode_headers(named), via_object(named));

    std::mt19937 rng(20261207);
    const std::string alphabet[] = {"a", "B", "é", "\"", "\\", "\n", "\x01", "😀", "-", "~"};
    auto text = [&] {
        std::string s;
        for (auto n = rng() % 5; n > 0; --n) s += alphabet[rng() % std::size(alphabet)];
        return s;
    };
    for (int i = 0; i < 2000; ++i) {
        headers_map h;
        for (auto n = rng() % 5; n > 0; --n) h[text()] = text();
        ASSERT_EQ(encode_headers(h), via_object(h));
    }
}

}  // namespace
}  // namespace prom::storage
