#include "storage/sqlite/sqlite_latest_tail.hpp"

#include "storage/sqlite/sqlite_store.hpp"

namespace prom::storage::sqlite {

result<std::optional<seq_t>> latest_tail::find(connection& c, std::string_view topic,
                                               std::string_view key, const topic_row& row) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) it = topics_.emplace(std::string(topic), topic_tail{}).first;
    if (it->second.row != row) {
        if (auto ok = rebuild(c, topic, row, it->second); !ok) {
            topics_.erase(it);
            return std::unexpected(ok.error());
        }
    }
    const auto& latest = it->second.latest;
    if (auto k = latest.find(key); k != latest.end()) return k->second;
    return std::optional<seq_t>{};
}

status latest_tail::rebuild(connection& c, std::string_view topic, const topic_row& row,
                            topic_tail& t) {
    // Only the committed tail: this transaction's own appends have seqs above last_seq.
    auto st = c.prepare(
        "SELECT key, max(seq) FROM events WHERE topic = ?1 AND seq > ?2 AND seq <= ?3 "
        "GROUP BY key");
    if (!st) return std::unexpected(st.error());
    st->bind(1, topic);
    st->bind(2, row.keyed_seq);
    st->bind(3, row.last_seq);
    t.latest.clear();
    int rc;
    while ((rc = st->step()) == SQLITE_ROW)
        t.latest.emplace(std::string(st->text(0)), seq_t{st->int64(1)});
    if (rc != SQLITE_DONE) return std::unexpected(c.last_error(rc, "read the log's tail"));
    t.row = row;
    return {};
}

void latest_tail::committed(const topic_counters& group) {
    for (const auto& [name, v] : group.topics_) {
        auto it = topics_.find(name);
        if (it == topics_.end()) continue;
        if (!v.track_latest || it->second.row != v.stored) {  // rebuilt when next asked
            it->second.row.reset();
            it->second.latest.clear();
            continue;
        }
        auto& latest = it->second.latest;
        if (v.keyed_seq != v.stored.keyed_seq) {
            latest.clear();  // the group's index step put the whole tail into `latest`
        } else {
            for (auto k = group.latest_.lower_bound(
                     std::pair(std::string_view(name), std::string_view()));
                 k != group.latest_.end() && k->first.first == name; ++k) {
                latest.insert_or_assign(k->first.second, k->second);
            }
        }
        it->second.row = {v.last_seq, v.count, v.keyed_seq};
    }
}

}  // namespace prom::storage::sqlite
