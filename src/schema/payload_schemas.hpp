// The check every publish goes through: each event's payload against the current schema
// of its topic (docs/schemas.md, "Enforcement"). Compiled schemas are cached per topic;
// the cache forgets a topic when a commit writes its schema document, on this node at
// once (commit listeners run before the commit returns) and on other nodes of a shared
// PostgreSQL database when that commit's NOTIFY arrives (storage/postgres/pg_listener.hpp).
// A cached entry is also read again after `recheck` (a cheap find_one of the small current
// document, compared by ETag), which covers what no notification reaches: another process
// on the same SQLite file, a lost PostgreSQL notification.
//
// Thread-safe. The store must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "prom/store.hpp"
#include "schema/json_schema.hpp"

namespace prom::schema {

// {"error":"invalid_payload","message","path","schema_version"}: how an errc::invalid_payload
// from check() is answered over HTTP (422) and the WebSocket gateway (with "op" and "id").
json::object invalid_payload_json(const error& e);

class payload_schemas {
  public:
    explicit payload_schemas(store& source,
                             std::chrono::milliseconds recheck = std::chrono::milliseconds(1000));

    // Every event of `batch` against its topic's current schema. The first invalid one is
    // errc::invalid_payload with error::path ("/payload/…") and error::schema_version set.
    status check(const std::vector<event_input>& batch);

    // For a commit listener: drops the topics whose schema documents `changed` names.
    void forget(const std::vector<document>& changed);

  private:
    struct entry {
        std::shared_ptr<const compiled_schema> schema;  // null: the topic has no schema
        std::int64_t version = 0;
        std::string etag;  // of the current document; empty when there is none
        std::chrono::steady_clock::time_point loaded;
    };

    result<std::shared_ptr<const entry>> lookup(const std::string& topic);
    result<std::shared_ptr<const entry>> load(const std::string& topic,
                                              const std::shared_ptr<const entry>& cached);

    store& source_;
    const std::chrono::milliseconds recheck_;
    std::atomic<std::uint64_t> generation_{0};  // moves on every forget()
    std::shared_mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<const entry>> cache_;
};

}  // namespace prom::schema
