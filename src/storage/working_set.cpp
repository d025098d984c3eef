#include "storage/working_set.hpp"

#include <atomic>
#include <system_error>
#include <thread>

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

status working_set::write_each(const document_writer& write) {
    if (parsed_.size() < serialize_beside_from) {
        for (const auto& [where, doc] : documents()) {
            if (auto ok = write(doc); !ok) return ok;
        }
        return {};
    }
    for (const auto& [where, doc] : done_) {
        if (auto ok = write(doc); !ok) return ok;
    }
    std::vector<parsed_documents::node_type> nodes;
    nodes.reserve(parsed_.size());
    while (!parsed_.empty()) nodes.push_back(parsed_.extract(parsed_.begin()));
    std::vector<document> docs(nodes.size());
    // docs[0, serialized) are ready for `write`. The serializer publishes its progress every
    // few documents (a wake-up each would cost more than it saves) and at its end.
    std::atomic<std::size_t> serialized{0};
    std::atomic<bool> stop{false};
    auto serialize_from = [&nodes, &docs](std::size_t i) {
        const auto& [collection, key] = nodes[i].key();
        docs[i] = docs::make_document(collection, key, nodes[i].mapped());
        json::object().swap(nodes[i].mapped());  // freed on the serializer's thread too
    };
    auto serialize_all = [&] {
        constexpr std::size_t publish_every = 8;
        for (std::size_t i = 0; i < nodes.size() && !stop.load(std::memory_order_relaxed); ++i) {
            serialize_from(i);
            if ((i + 1) % publish_every == 0 || i + 1 == nodes.size()) {
                serialized.store(i + 1, std::memory_order_release);
                serialized.notify_one();
            }
        }
    };
    std::thread serializer;
    try {
        serializer = std::thread(serialize_all);
    } catch (const std::system_error&) {
        serialize_all();  // no thread to be had: serialized here first, as one by one
    }
    status ok;
    for (std::size_t i = 0; i < nodes.size() && ok; ++i) {
        for (std::size_t seen; (seen = serialized.load(std::memory_order_acquire)) <= i;) {
            serialized.wait(seen, std::memory_order_acquire);
        }
        ok = write(docs[i]);
    }
    stop.store(true, std::memory_order_relaxed);
    if (serializer.joinable()) serializer.join();
    // A write that failed stopped the serializer early: the rest is serialized here, so the
    // set stays whole (documents() after a failed commit still answers).
    for (std::size_t i = serialized.load(); i < nodes.size(); ++i) {
        if (!nodes[i].mapped().empty()) serialize_from(i);
    }
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        done_.insert_or_assign(std::move(nodes[i].key()), std::move(docs[i]));
    }
    return ok;
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
