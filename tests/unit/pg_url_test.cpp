// The PostgreSQL URL: prom's `schema` parameter is taken out before libpq sees the URL.
#include "storage/postgres/pg_url.hpp"

#include <gtest/gtest.h>

#include "prom/store.hpp"

namespace prom::storage::postgres {
namespace {

constexpr const char* keepalives = "keepalives_idle=15&keepalives_interval=5&keepalives_count=3";

TEST(pg_url, schema_is_removed_from_the_conninfo_and_timeouts_added) {
    auto t = parse_pg_url("postgresql://u@127.0.0.1:5555/db?schema=t1_2&sslmode=disable");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->schema, "t1_2");
    EXPECT_EQ(t->conninfo, "postgresql://u@127.0.0.1:5555/db?sslmode=disable&connect_timeout=5&" +
                               std::string(keepalives));
}

TEST(pg_url, without_a_schema_the_tables_live_in_public_and_given_settings_win) {
    auto t = parse_pg_url("postgres://h/db?connect_timeout=2&keepalives_count=9");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->schema, "public");
    EXPECT_EQ(t->conninfo,
              "postgres://h/db?connect_timeout=2&keepalives_count=9&keepalives_idle=15&"
              "keepalives_interval=5");
}

TEST(pg_url, schema_may_be_percent_encoded_but_must_be_a_plain_name) {
    auto ok = parse_pg_url("postgresql:///db?schema=%61bc");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->schema, "abc");
    for (const char* bad : {"postgresql:///db?schema=", "postgresql:///db?schema=a%22b",
                            "postgresql:///db?schema=a-b", "postgresql:///db?schema=%zz"}) {
        auto r = parse_pg_url(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::invalid_argument);
    }
}

TEST(pg_url, an_unreachable_server_is_unavailable_not_a_crash) {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    auto s = open_store("postgresql://nobody@127.0.0.1:1/none?schema=x");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::unavailable);
}

// What waiting cannot heal is bad input at once, not a database to wait for (found from
// outside: `prom serve` retried `?bogus=1` and port 99999 for db_wait).
TEST(pg_url, what_libpq_cannot_parse_and_ports_out_of_range_are_refused) {
    for (const char* bad :
         {"postgresql://u@127.0.0.1/db?bogus=1", "postgresql://u@127.0.0.1:99999/db",
          "postgresql://u@127.0.0.1:0/db", "postgresql://u@h1:5432,h2:70000/db",
          "postgresql://u@127.0.0.1:5x/db"}) {
        auto r = parse_pg_url(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, errc::invalid_argument) << bad;
        EXPECT_TRUE(r.error().message.starts_with("bad PostgreSQL URL: ")) << r.error().message;
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
    }
    EXPECT_TRUE(parse_pg_url("postgresql://u@h1:5432,h2:5433/db"));
    // Option values libpq checks only when it connects: bad input too, without a wait.
    for (const char* bad : {"postgresql://u@127.0.0.1:1/db?sslmode=bogus",
                            "postgresql://u@127.0.0.1:1/db?connect_timeout=abc"}) {
        auto s = open_store(bad);
        ASSERT_FALSE(s) << bad;
        EXPECT_EQ(s.error().code, errc::invalid_argument) << s.error().message;
    }
    EXPECT_TRUE(parse_pg_url("postgresql:///db"));
}

}  // namespace
}  // namespace prom::storage::postgres
