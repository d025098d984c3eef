// The latest seq of each key, for a conditional append, now that the `latest` table follows
// the log in steps like key_events (sqlite_key_index.hpp): a key whose last event is in the
// log's tail (seq > topics.keyed_seq) has an older row there, or none.
//
// Walking the tail for one key costs ~95 µs at 4096 rows, inside the writer's lock and for
// every expected key (docs/benchmarks.md, "`latest` behind the log"). So the group-commit
// writer keeps, for each topic a conditional append has asked about, each tail key's latest
// seq in memory (its transactions record the keys they append to such a topic), and trusts
// it only while the topic's row still reads as it did when the memory was last brought up
// to date (last_seq, count, keyed_seq): any other writer (another process, a transaction,
// retention) moves one of them, and the next lookup rebuilds the topic's map with one pass
// over the tail. Only the group-commit writer uses it, under the store's writer lock.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/sqlite/sqlite_db.hpp"

namespace prom::storage::sqlite {

class topic_counters;

// The topics row as a write transaction first read it.
struct topic_row {
    seq_t last_seq{};
    std::int64_t count = 0;
    seq_t keyed_seq{};
    bool operator==(const topic_row&) const = default;
};

class latest_tail {
  public:
    // The latest seq of (topic, key) among the committed events of the tail, nullopt when the
    // tail has none of that key (then the `latest` row answers). `row` is the topic's row as
    // this transaction read it; the tail is read only up to its last_seq, the committed part
    // (the transaction's own appends are the caller's to find).
    result<std::optional<seq_t>> find(connection& c, std::string_view topic, std::string_view key,
                                      const topic_row& row);

    // Whether the topic's tail is kept (once a conditional append asked for it): then a
    // transaction records what it appends to the topic, for committed().
    bool keeps(std::string_view topic) const { return topics_.contains(topic); }

    // After the group's commit: brings each topic the group appended to up to date with what
    // it appended, if that topic's map was current when the group began and the group
    // recorded its appends; otherwise marks it to be rebuilt at its next lookup.
    void committed(const topic_counters& group);

  private:
    // Looks a key up by its string_view, without making a string.
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view k) const {
            return std::hash<std::string_view>{}(k);
        }
    };
    struct topic_tail {
        std::optional<topic_row> row;  // the row the map is current for
        std::unordered_map<std::string, seq_t, key_hash, std::equal_to<>> latest;  // key -> seq
    };
    status rebuild(connection& c, std::string_view topic, const topic_row& row, topic_tail& t);

    std::map<std::string, topic_tail, std::less<>> topics_;
};

}  // namespace prom::storage::sqlite
