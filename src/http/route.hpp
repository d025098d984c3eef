// The routes of `prom serve`, as labels for metrics.
#pragma once

#include <cstddef>
#include <string_view>

namespace prom::http {

enum class route_id : std::size_t {
    snap,
    collection_snap,
    list,
    collection_list,
    publish,
    healthz,
    metrics,
    ws,
    at,              // GET /at/{topic}/{key}
    at_all,          // GET /at/{topic}: every key
    ui,              // GET /, /ui, /ui/assets/{file}: the dashboard's embedded files
    projectors,      // GET /projectors
    projector,       // GET|PUT|DELETE /projectors/{name}
    watch,           // GET /collections/{name}/watch (Server-Sent Events)
    topics,          // GET /topics
    groups,          // GET /groups
    group,           // DELETE /groups/{topic}/{group}
    group_seek,      // POST /groups/{topic}/{group}/seek
    dlq,             // GET /dlq/{topic}
    dlq_replay,      // POST /dlq/{topic}/replay
    replays,         // GET|POST /replays
    schemas,         // GET /schemas
    schema,          // GET|PUT /schemas/{topic}
    topic_policy,    // GET|PUT|DELETE /topics/{topic}/policy
    topic_compact,   // POST /topics/{topic}/compact
    topic_key,       // DELETE /topics/{topic}/keys/{key} (erasure)
    collection_doc,  // DELETE /collections/{name}/docs/{key}
    unknown,         // no route matched (404) or the request did not parse (400/413/431)
    count_
};

inline constexpr std::size_t route_count = static_cast<std::size_t>(route_id::count_);

std::string_view route_label(route_id r) noexcept;

}  // namespace prom::http
