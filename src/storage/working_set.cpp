#include "storage/working_set.hpp"

#include "docs/update.hpp"

namespace prom::storage {

document& working_set::serialize(parsed_documents::iterator it) {
    document d = docs::make_document(it->first.first, it->first.second, it->second);
    auto node = parsed_.extract(it);  // its key moves into done_, not copied
    return done_.insert_or_assign(std::move(node.key()), std::move(d)).first->second;
}

const document* working_set::find(std::string_view collection, std::string_view key) {
    if (auto it = parsed_.find(std::pair(collection, key)); it != parsed_.end()) {
        return &serialize(it);
    }
    if (auto it = done_.find(std::pair(collection, key)); it != done_.end()) return &it->second;
    return nullptr;
}

status working_set::update(std::string_view collection, std::string_view key, json::object update,
                           bool upsert, const loader& load) {
    if (auto it = parsed_.find(std::pair(collection, key)); it != parsed_.end()) {
        auto next = docs::apply_update(&it->second, std::move(update), key, now_ms());
        if (!next) return std::unexpected(next.error());
        it->second = std::move(*next);
        return {};
    }
    // An upserting replacement does not depend on the stored document: it is not read
    // (a projector that replaces each process's document on every event reads none).
    const bool reads_stored = !(upsert && docs::is_replacement(update));
    std::optional<document> current;
    auto done = done_.find(std::pair(collection, key));
    if (reads_stored) {
        if (done == done_.end()) {
            auto stored = load();
            if (!stored) return std::unexpected(stored.error());
            current = std::move(*stored);
        } else if (!done->second.deleted) {
            current = std::move(done->second);
        }
    }
    auto next = reads_stored ? docs::update_stored(current, update, key, upsert)
                             : docs::apply_update(nullptr, std::move(update), key, now_ms());
    if (!next) {
        // Refused: the set keeps what it held.
        if (done != done_.end() && current) done->second = std::move(*current);
        return std::unexpected(next.error());
    }
    if (done != done_.end()) done_.erase(done);
    parsed_.emplace(std::pair(std::string(collection), std::string(key)), std::move(*next));
    return {};
}

result<std::optional<document>> working_set::find_one(std::string_view collection,
                                                      std::string_view key, const loader& load) {
    if (const document* d = find(collection, key)) {
        if (d->deleted) return std::optional<document>{};
        return std::optional<document>{*d};
    }
    return load();
}

result<document> working_set::update_one(std::string_view collection, std::string_view key,
                                         const json::object& update, bool upsert,
                                         const loader& load) {
    auto cur = find_one(collection, key, load);
    if (!cur) return std::unexpected(cur.error());
    auto obj = docs::update_stored(*cur, update, key, upsert);
    if (!obj) return std::unexpected(obj.error());
    document d = docs::make_document(collection, key, *obj);
    put(d);  // written once, at commit, however many times the transaction changes it
    return d;
}

void working_set::put(document d) {
    if (auto it = parsed_.find(std::pair(std::string_view(d.collection), std::string_view(d.key)));
        it != parsed_.end()) {
        parsed_.erase(it);
    }
    auto key = std::pair(d.collection, d.key);
    done_.insert_or_assign(std::move(key), std::move(d));
}

changed_documents& working_set::documents() {
    while (!parsed_.empty()) serialize(parsed_.begin());
    return done_;
}

status working_set::hand_over(const visitor& f) {
    status ok;
    for (auto& [where, doc] : parsed_) {
        if (ok) ok = f(where.first, where.second, &doc, nullptr);
    }
    for (const auto& [where, doc] : done_) {
        if (ok) ok = f(where.first, where.second, nullptr, &doc);
    }
    parsed_.clear();
    done_.clear();
    return ok;
}

}  // namespace prom::storage
