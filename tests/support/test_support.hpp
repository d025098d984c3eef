// Shared by all tests: a temporary directory per test, and the backends the contract
// suites run against (memory, sqlite, and postgres when PROM_TEST_PG_URL is set).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::test {

// Polls `done` every 20 ms until it holds or `timeout` passes; true if it held. For what a
// test waits on across threads or nodes (a projector catching up, a lease moving).
template <class F>
bool eventually(F&& done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
}

// Made on construction, removed with everything in it on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    const std::filesystem::path& path() const { return path_; }
    std::string file(std::string_view name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

struct backend {
    std::string name;  // "memory", "sqlite", "postgres"
    bool durable;      // survives reopen (and a crash)
    // Returns a URL for a fresh, empty database inside `dir` (or a fresh schema).
    std::function<std::string(const temp_dir& dir)> fresh_url;
};

// The backends to run contract suites against: always memory and sqlite; postgres when
// PROM_TEST_PG_URL is set (scripts/test.sh sets it).
std::vector<backend> contract_backends();

// Only PostgreSQL (none without PROM_TEST_PG_URL), for tests of what only it has.
std::vector<backend> postgres_backends();

// Only the backends that survive a reopen (all but memory).
std::vector<backend> durable_backends();

// Test names and messages show the backend's name, not its bytes.
inline void PrintTo(const backend& b, std::ostream* os) { *os << b.name; }

// For INSTANTIATE_TEST_SUITE_P names.
std::string backend_name(const testing::TestParamInfo<backend>& info);

// The database the integration tests use. CTest runs them twice: as is (SQLite in `dir`,
// or `fallback` when given, e.g. "memory:") and with PROM_TEST_BACKEND=postgres (a fresh
// schema in PROM_TEST_PG_URL), so every integration test also runs on PostgreSQL.
std::string integration_db_url(const temp_dir& dir, std::string_view fallback = {});
// True when PostgreSQL was asked for but PROM_TEST_PG_URL is not set (a hand-run ctest
// without scripts/test.sh); the tests skip then, and say so. scripts/test.sh always sets it.
bool integration_backend_missing();

// Opens `url` or fails the test.
std::unique_ptr<store> open_or_die(const std::string& url, store_options o = {});

// The JSON values of NDJSON output (the CLI's listings), one per non-empty line; a line
// that does not parse fails the test.
std::vector<json::value> ndjson_lines(const std::string& out);

}  // namespace prom::test
