// What prom serve's start-up log says about its database: the absolute SQLite path (a
// relative one depends on the working directory), never a PostgreSQL password.
#include <gtest/gtest.h>

#include <filesystem>

#include "prom/store.hpp"

namespace prom {
namespace {

TEST(describe_db_url, makes_a_sqlite_path_absolute) {
    auto cwd = std::filesystem::current_path();
    EXPECT_EQ(describe_db_url("sqlite:./prom-data/prom.db"),
              "sqlite:" + (cwd / "prom-data/prom.db").string());
    EXPECT_EQ(describe_db_url("sqlite:/var/lib/prom/x.db"), "sqlite:/var/lib/prom/x.db");
    EXPECT_EQ(describe_db_url("sqlite:///var/lib/prom/x.db"), "sqlite:/var/lib/prom/x.db");
}

TEST(describe_db_url, hides_a_postgresql_password) {
    EXPECT_EQ(describe_db_url("postgresql://prom:hunter2@db:5432/app?schema=prom"),
              "postgresql://prom:***@db:5432/app?schema=prom");
    EXPECT_EQ(describe_db_url("postgresql://prom@db/app"), "postgresql://prom@db/app");
    EXPECT_EQ(describe_db_url("memory:"), "memory:");
}

}  // namespace
}  // namespace prom
