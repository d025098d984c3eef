// The snapshot cache: (collection, key) → an immutable, pre-rendered document response.
//
// Serving a document must not parse, serialize or hash per request (docs/etag-semantics.md), so an
// entry holds the stored canonical body and the header blocks of its 200 and 304 answers, built
// once when the entry is loaded. Requests share entries through shared_ptr.
//
// Freshness: the store's commit listener drops the entries of every document a commit
// wrote, before that commit returns, so this node never serves a body older than its own
// last commit. Entries also expire after `ttl`, which bounds how long a write made by
// another process (the CLI, another node on PostgreSQL) can go unseen.
//
// A loader that read the store before a commit must not put back the older body after the
// commit dropped it: every shard counts its drops, and a load only inserts when the count
// did not move while it read.
//
// Thread-safe. Must not outlive its store (the listener holds a pointer to the cache; the
// store only lets listeners go with itself, so the cache must outlive the store's commits:
// the server node destroys the store first or stops writers before the cache goes).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "prom/store.hpp"

namespace prom::http {

struct rendered_document {
    std::string body;      // canonical JSON, as stored
    std::string etag;      // as stored, quoted
    ts_ms ts{};            // _ts
    std::string head_200;  // Content-Type, Content-Length, ETag, Last-Modified, Cache-Control
    std::string head_304;  // ETag, Last-Modified, Cache-Control
    std::int64_t modified_seconds = 0;  // _ts truncated to seconds, for If-Modified-Since
    std::chrono::steady_clock::time_point loaded;

    // What the entry holds in memory, roughly (its strings and itself).
    std::size_t bytes() const {
        return sizeof(*this) + body.size() + etag.size() + head_200.size() + head_304.size();
    }
};

// Builds the entry of a stored document (pure; public for tests).
std::shared_ptr<const rendered_document> render_document(const document& d, int max_age_seconds,
                                                         bool private_cache = false);

struct snapshot_cache_options {
    int max_age_seconds = 5;
    std::chrono::milliseconds ttl{1000};
    std::size_t max_entries = 100000;
    // Bytes of entries held at most, spread over the shards; a document larger than a
    // shard's share is served but not kept (a user-defined projector can write documents of
    // megabytes, and entries alone would not bound the memory).
    std::size_t max_bytes = std::size_t{256} << 20;
    // With tokens configured, documents are per-client: `private` keeps shared caches off.
    bool private_cache = false;
};

class snapshot_cache {
  public:
    snapshot_cache(store& s, snapshot_cache_options o);
    snapshot_cache(const snapshot_cache&) = delete;
    snapshot_cache& operator=(const snapshot_cache&) = delete;

    // Never blocks on the store: the entry, or nullptr on a miss or an expired entry.
    // `now` is the caller's clock reading (one per request).
    std::shared_ptr<const rendered_document> lookup(
        std::string_view collection, std::string_view key,
        std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    // Reads the store (blocking) and caches what it found; nullptr when there is no such
    // document.
    result<std::shared_ptr<const rendered_document>> load(std::string_view collection,
                                                          std::string_view key);

    // The commit listener's work: drops the entries of `docs`.
    void on_commit(const std::vector<document>& docs);

    std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
    std::size_t size() const;
    std::size_t bytes() const;

  private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, std::shared_ptr<const rendered_document>, string_hash,
                           std::equal_to<>>
            entries;
        std::uint64_t drops = 0;
        std::size_t bytes = 0;  // of the entries and their keys
    };
    static constexpr std::size_t shard_count = 16;

    shard& shard_of(std::string_view cache_key);
    // Under the shard's lock.
    static void erase_entry(shard& sh, decltype(shard::entries)::iterator it);

    store& store_;
    snapshot_cache_options options_;
    std::array<shard, shard_count> shards_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
};

}  // namespace prom::http
