#include <filesystem>

#include "prom/store.hpp"
#include "schema/enforcing_store.hpp"
#include "storage/memory/memory_store.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom {

namespace {

// The file of a `sqlite:` URL: `sqlite:PATH` or `sqlite://PATH` (so `sqlite:///abs/path`).
std::string sqlite_path(std::string_view url) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path = path.substr(2);
    return path;
}

}  // namespace

std::string describe_db_url(std::string_view url) {
    if (url.starts_with("sqlite:")) {
        std::string path = sqlite_path(url);
        std::error_code ec;
        auto abs = std::filesystem::absolute(path, ec);
        return "sqlite:" + (ec ? path : abs.lexically_normal().string());
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        // postgresql://user:password@host/… → postgresql://user:***@host/…
        std::string out(url);
        auto scheme_end = out.find("://") + 3;
        auto at = out.find('@', scheme_end);
        auto colon = out.find(':', scheme_end);
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
            out.replace(colon + 1, at - colon - 1, "***");
        }
        return out;
    }
    return std::string(url);
}

namespace {

result<std::unique_ptr<store>> open_backend(std::string_view url, const store_options& options) {
    if (url == "memory:" || url == "memory") return storage::make_memory_store();
    if (url.starts_with("sqlite:")) {
        std::string path = sqlite_path(url);
        if (path.empty()) return fail(errc::invalid_argument, "sqlite: URL needs a path");
        return storage::sqlite::sqlite_store::open(path, options);
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        return storage::postgres::pg_store::open(url, options);
    }
    return fail(errc::invalid_argument, "unknown database URL '" + std::string(url) +
                                            "': use sqlite:PATH, memory: or postgresql://…");
}

}  // namespace

// Every backend checks payloads against their topic's schema (docs/schemas.md) in one
// place: the wrapper, not a copy per backend.
result<std::unique_ptr<store>> open_store(std::string_view url, store_options options) {
    auto backend = open_backend(url, options);
    if (!backend) return backend;
    return schema::enforce_schemas(std::move(*backend));
}

}  // namespace prom
