#include "support/test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <sstream>

namespace prom::test {

temp_dir::temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("prom-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(rd()));
    std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::vector<backend> contract_backends() {
    std::vector<backend> out{
        {"memory", false, [](const temp_dir&) { return std::string("memory:"); }},
        {"sqlite", true, [](const temp_dir& d) { return "sqlite:" + d.file("prom.db"); }},
    };
    if (const char* pg = std::getenv("PROM_TEST_PG_URL"); pg && *pg) {
        // Each fresh database is a fresh schema in the test database (see the postgres
        // backend's `schema` URL parameter).
        std::string base = pg;
        out.push_back({"postgres", true, [base](const temp_dir&) {
                           static std::atomic<int> n{0};
                           std::random_device rd;
                           std::string schema = "t" + std::to_string(::getpid()) + "_" +
                                                std::to_string(n++) + "_" +
                                                std::to_string(rd() % 100000);
                           return base + (base.find('?') == std::string::npos ? "?" : "&") +
                                  "schema=" + schema;
                       }});
    }
    return out;
}

std::vector<backend> postgres_backends() {
    auto all = contract_backends();
    std::erase_if(all, [](const backend& b) { return b.name != "postgres"; });
    return all;
}

std::vector<backend> durable_backends() {
    auto all = contract_backends();
    std::erase_if(all, [](const backend& b) { return !b.durable; });
    return all;
}

namespace {
bool wants_postgres() {
    const char* b = std::getenv("PROM_TEST_BACKEND");
    return b && std::string_view(b) == "postgres";
}
}  // namespace

bool integration_backend_missing() {
    const char* pg = std::getenv("PROM_TEST_PG_URL");
    return wants_postgres() && !(pg && *pg);
}

std::string integration_db_url(const temp_dir& dir, std::string_view fallback) {
    if (wants_postgres()) {
        for (auto& b : contract_backends()) {
            if (b.name == "postgres") return b.fresh_url(dir);
        }
    }
    if (!fallback.empty()) return std::string(fallback);
    return "sqlite:" + dir.file("integration.db");
}

std::string backend_name(const testing::TestParamInfo<backend>& info) { return info.param.name; }

std::unique_ptr<store> open_or_die(const std::string& url, store_options o) {
    auto s = open_store(url, o);
    if (!s) {
        ADD_FAILURE() << "cannot open " << url << ": " << s.error().message;
        return nullptr;
    }
    return std::move(*s);
}

std::vector<json::value> ndjson_lines(const std::string& out) {
    std::vector<json::value> v;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto j = parse_json(line);
        EXPECT_TRUE(j) << line;
        if (j) v.push_back(*j);
    }
    return v;
}

}  // namespace prom::test
