// PostgreSQL text holds valid UTF-8 without NUL; the backend refuses anything else up front.
#include <gtest/gtest.h>

#include "storage/postgres/pg_text.hpp"

namespace prom::storage::postgres {
namespace {

using namespace std::string_literals;

TEST(pg_text, accepts_utf8_and_refuses_nul_and_broken_sequences) {
    EXPECT_TRUE(storable_text(""));
    EXPECT_TRUE(storable_text("plain ascii"));
    EXPECT_TRUE(storable_text("é ü 漢字 😀"));
    EXPECT_FALSE(storable_text("a\0b"s));
    EXPECT_FALSE(storable_text("\xC3"));              // cut short
    EXPECT_FALSE(storable_text("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(storable_text("\xED\xA0\x80"));      // a surrogate
    EXPECT_FALSE(storable_text("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(storable_text("\xFF"));
}

TEST(pg_text, check_storable_names_the_bad_field) {
    std::vector<event_input> batch(1);
    batch[0].topic = "t";
    batch[0].key = "k\0"s;
    auto r = check_storable(batch);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_NE(r.error().message.find("key"), std::string::npos);
    batch[0].key = "k";
    batch[0].headers["h"] = "\xFF";
    EXPECT_FALSE(check_storable(batch));
}

}  // namespace
}  // namespace prom::storage::postgres
