#include "projector/recorded_batch.hpp"

#include "docs/update.hpp"
#include "storage/change_log.hpp"

namespace prom {

result<std::optional<document>> recorded_batch::find_stored(std::string_view collection,
                                                            std::string_view key) {
    auto d = store_.find_one(collection, key);
    if (d) {
        read_.try_emplace({std::string(collection), std::string(key)},
                          *d ? std::optional<std::string>((*d)->etag) : std::nullopt);
    }
    return d;
}

result<std::optional<document>> recorded_batch::find_one(std::string_view collection,
                                                         std::string_view key) {
    return docs_.find_one(collection, key, [&] { return find_stored(collection, key); });
}

result<document> recorded_batch::update_one(std::string_view collection, std::string_view key,
                                            const json::object& update, bool upsert) {
    if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
    auto d = docs_.update_one(collection, key, update, upsert,
                              [&] { return find_stored(collection, key); });
    if (d) note_written(collection);
    return d;
}

status recorded_batch::update(std::string_view collection, std::string_view key,
                              json::object update, bool upsert) {
    if (auto ok = docs::check_target(collection, key); !ok) return ok;
    auto ok = docs_.update(collection, key, std::move(update), upsert,
                           [&] { return find_stored(collection, key); });
    if (ok) note_written(collection);
    return ok;
}

result<bool> recorded_batch::delete_one(std::string_view collection, std::string_view key) {
    if (auto ok = docs::check_target(collection, key); !ok) return std::unexpected(ok.error());
    auto cur = find_one(collection, key);
    if (!cur) return std::unexpected(cur.error());
    if (!*cur) return false;
    docs_.put(storage::deleted_document(collection, key));
    note_written(collection);
    return true;
}

void recorded_batch::note_written(std::string_view collection) {
    if (!written_.contains(collection)) written_.emplace(collection);
}

result<std::vector<append_result>> recorded_batch::append(std::vector<event_input> batch) {
    if (batch.empty()) return fail(errc::invalid_argument, "no events to append");
    std::vector<append_result> out;
    out.reserve(batch.size());
    for (const auto& in : batch) out.push_back({.id = in.id.value_or(""), .seq = {}, .ts = {}});
    emits_.push_back(std::move(batch));
    return out;
}

result<std::optional<seq_t>> recorded_batch::cursor(std::string_view topic,
                                                    std::string_view group) {
    return store_.cursor(topic, group);
}

status recorded_batch::set_cursor(std::string_view, std::string_view, seq_t) {
    return fail(errc::invalid_argument, "a batch being evaluated cannot move cursors");
}

status recorded_batch::commit() {
    return fail(errc::invalid_argument, "a batch being evaluated cannot commit");
}

status recorded_batch::check_reads(transaction& txn) {
    for (const auto& [where, etag] : read_) {
        if (!written_.contains(where.first)) continue;  // another projector's: read as committed
        auto now = txn.find_one(where.first, where.second);
        if (!now) return std::unexpected(now.error());
        auto now_etag = *now ? std::optional<std::string>((*now)->etag) : std::nullopt;
        if (now_etag != etag) {
            return fail(errc::conflict, "document '" + where.second + "' of '" + where.first +
                                            "' changed while the batch was evaluated");
        }
    }
    return {};
}

status recorded_batch::replay(transaction& txn) {
    if (auto ok = check_reads(txn); !ok) return ok;
    // A document the batch found absent is created, not upserted: check_reads has nothing to
    // lock for it, and on PostgreSQL another projector's transaction may create it meanwhile;
    // an upsert then overwrote that one's effects (found from outside: whole batches of $inc
    // lost when several definitions wrote the same new documents). The conflict retries the
    // batch, which then reads the document.
    auto write = [&](std::string_view collection, std::string_view key, json::object body) {
        auto read = read_.find(std::pair(std::string(collection), std::string(key)));
        if (read != read_.end() && !read->second) {
            return txn.create_one(collection, key, std::move(body));
        }
        return txn.update(collection, key, std::move(body), true);
    };
    auto ok = docs_.hand_over([&](std::string_view collection, std::string_view key,
                                  json::object* parsed, const document* stored) -> status {
        if (parsed) return write(collection, key, std::move(*parsed));
        if (!stored) return fail(errc::internal, "a changed document without a form");
        if (stored->deleted) {
            auto gone = txn.delete_one(collection, key);
            return gone ? status{} : std::unexpected(gone.error());
        }
        auto body = parse_stored_json(stored->body);
        if (!body || !body->is_object()) {
            return fail(errc::corrupt, "a document of the batch does not parse");
        }
        return write(collection, key, std::move(body->get_object()));
    });
    if (!ok) return ok;
    for (auto& batch : emits_) {
        if (auto appended = txn.append(std::move(batch)); !appended) {
            return std::unexpected(appended.error());
        }
    }
    emits_.clear();
    return {};
}

}  // namespace prom
