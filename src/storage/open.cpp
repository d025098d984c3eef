#include "prom/store.hpp"
#include "storage/memory/memory_store.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace prom {

result<std::unique_ptr<store>> open_store(std::string_view url, store_options options) {
    if (url == "memory:" || url == "memory") return storage::make_memory_store();
    if (url.starts_with("sqlite:")) {
        std::string path(url.substr(7));
        if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
        if (path.empty()) return fail(errc::invalid_argument, "sqlite: URL needs a path");
        return storage::sqlite::sqlite_store::open(path, options);
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        return storage::postgres::pg_store::open(url, options);
    }
    return fail(errc::invalid_argument, "unknown database URL '" + std::string(url) +
                                            "': use sqlite:PATH, memory: or postgresql://…");
}

}  // namespace prom
