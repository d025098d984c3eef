#include "http/snapshot_cache.hpp"

#include <charconv>

#include "http/conditional.hpp"
#include "http/http_date.hpp"

namespace prom::http {

namespace {

// (collection, key) as one map key. Collection names never contain NUL, so the pair is
// recoverable and distinct pairs never collide. A thread-local buffer keeps lookups free
// of allocations once it has grown.
std::string_view cache_key_of(std::string_view collection, std::string_view key) {
    thread_local std::string buf;
    buf.assign(collection);
    buf.push_back('\0');
    buf.append(key);
    return buf;
}

}  // namespace

std::shared_ptr<const rendered_document> render_document(const document& d, int max_age_seconds,
                                                         bool private_cache) {
    auto r = std::make_shared<rendered_document>();
    r->body = d.body;
    r->etag = d.etag;
    r->ts = d.ts;
    r->modified_seconds = last_modified_seconds(d.ts.value);
    r->loaded = std::chrono::steady_clock::now();
    std::string validators;
    validators += "ETag: ";
    validators += d.etag;
    validators += "\r\nLast-Modified: ";
    validators += format_http_date(r->modified_seconds);
    validators += private_cache ? "\r\nCache-Control: private, max-age="
                                : "\r\nCache-Control: public, max-age=";
    validators += std::to_string(max_age_seconds);
    validators += "\r\n";
    r->head_304 = validators;
    r->head_200 = "Content-Type: application/json\r\nContent-Length: ";
    r->head_200 += std::to_string(d.body.size());
    r->head_200 += "\r\n";
    r->head_200 += validators;
    return r;
}

snapshot_cache::snapshot_cache(store& s, snapshot_cache_options o) : store_(s), options_(o) {}

snapshot_cache::shard& snapshot_cache::shard_of(std::string_view cache_key) {
    return shards_[string_hash{}(cache_key) % shard_count];
}

std::shared_ptr<const rendered_document> snapshot_cache::lookup(
    std::string_view collection, std::string_view key, std::chrono::steady_clock::time_point now) {
    auto ck = cache_key_of(collection, key);
    auto& sh = shard_of(ck);
    std::shared_ptr<const rendered_document> found;
    {
        std::lock_guard lock(sh.mu);
        auto it = sh.entries.find(ck);
        if (it != sh.entries.end()) found = it->second;
    }
    if (found && now - found->loaded < options_.ttl) {
        hits_.fetch_add(1, std::memory_order_relaxed);
        return found;
    }
    // Not a miss yet: a request that finds nothing here on its network thread looks again
    // on a blocking thread before it reads the store; load() counts the read, once.
    return nullptr;
}

result<std::shared_ptr<const rendered_document>> snapshot_cache::load(std::string_view collection,
                                                                      std::string_view key) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    std::string ck(cache_key_of(collection, key));
    auto& sh = shard_of(ck);
    std::uint64_t drops_before;
    {
        std::lock_guard lock(sh.mu);
        drops_before = sh.drops;
    }
    auto found = store_.find_one(collection, key);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
        std::lock_guard lock(sh.mu);
        if (auto it = sh.entries.find(ck); it != sh.entries.end()) erase_entry(sh, it);
        return std::shared_ptr<const rendered_document>{};
    }
    auto entry = render_document(**found, options_.max_age_seconds, options_.private_cache);
    const std::size_t entry_bytes = entry->bytes() + ck.size();
    const std::size_t shard_bytes = options_.max_bytes / shard_count;
    // Each shard keeps its share, rounded down, so that the total is a bound (docs/config.md).
    const std::size_t shard_entries = options_.max_entries / shard_count;
    std::lock_guard lock(sh.mu);
    if (sh.drops == drops_before) {
        if (auto it = sh.entries.find(ck); it != sh.entries.end()) erase_entry(sh, it);
        if (entry_bytes <= shard_bytes && shard_entries > 0) {
            // Bounded memory: arbitrary victims are good enough for a cache whose entries are
            // cheap to rebuild.
            while (!sh.entries.empty() &&
                   (sh.entries.size() >= shard_entries || sh.bytes + entry_bytes > shard_bytes)) {
                erase_entry(sh, sh.entries.begin());
            }
            sh.bytes += entry_bytes;
            sh.entries.emplace(std::move(ck), entry);
        }
    }
    return std::shared_ptr<const rendered_document>(std::move(entry));
}

void snapshot_cache::on_commit(const std::vector<document>& docs) {
    for (const auto& d : docs) {
        auto ck = cache_key_of(d.collection, d.key);
        auto& sh = shard_of(ck);
        std::lock_guard lock(sh.mu);
        ++sh.drops;
        auto it = sh.entries.find(ck);
        if (it != sh.entries.end()) erase_entry(sh, it);
    }
}

void snapshot_cache::erase_entry(shard& sh, decltype(shard::entries)::iterator it) {
    sh.bytes -= it->second->bytes() + it->first.size();
    sh.entries.erase(it);
}

std::size_t snapshot_cache::bytes() const {
    std::size_t n = 0;
    for (const auto& sh : shards_) {
        std::lock_guard lock(sh.mu);
        n += sh.bytes;
    }
    return n;
}

std::size_t snapshot_cache::size() const {
    std::size_t n = 0;
    for (const auto& sh : shards_) {
        std::lock_guard lock(sh.mu);
        n += sh.entries.size();
    }
    return n;
}

}  // namespace prom::http
