#include "docs/update.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>

#include "core/json_int.hpp"
#include "core/json_size.hpp"
#include "core/text.hpp"
#include "docs/update_path.hpp"

namespace prom::docs {

namespace {

// Walks a dotted path, creating intermediate objects when `create`; returns the parent
// object and the last segment, or nullptr when a segment is not an object.
json::object* parent_of(json::object& root, std::string_view path, bool create,
                        std::string_view& leaf) {
    json::object* obj = &root;
    std::size_t start = 0;
    for (;;) {
        auto dot = path.find('.', start);
        if (dot == std::string_view::npos) {
            leaf = path.substr(start);
            return obj;
        }
        std::string_view seg = path.substr(start, dot - start);
        auto it = obj->find(seg);
        if (it == obj->end()) {
            if (!create) return nullptr;
            obj = &(*obj)[seg].emplace_object();
        } else if (it->value().is_object()) {
            obj = &it->value().get_object();
        } else {
            return nullptr;
        }
        start = dot + 1;
    }
}

bool valid_path(std::string_view path) {
    if (path.empty() || path.front() == '.' || path.back() == '.') return false;
    if (path.find("..") != std::string_view::npos) return false;
    // No step starts with `$` (an operator's name), the first or a nested one.
    return path.front() != '$' && path.find(".$") == std::string_view::npos;
}

status set_path(json::object& doc, std::string_view path, const json::value& v) {
    std::string_view leaf;
    json::object* parent = parent_of(doc, path, true, leaf);
    if (!parent) {
        return fail(errc::type_error,
                    "cannot set '" + std::string(path) + "': a parent field is not an object");
    }
    (*parent)[leaf] = v;
    return {};
}

status inc_path(json::object& doc, std::string_view path, const json::value& by) {
    std::string_view leaf;
    json::object* parent = parent_of(doc, path, true, leaf);
    if (!parent) {
        return fail(errc::type_error,
                    "cannot $inc '" + std::string(path) + "': a parent field is not an object");
    }
    auto it = parent->find(leaf);
    if (it == parent->end()) {
        (*parent)[leaf] = by;
        return {};
    }
    json::value& cur = it->value();
    if (!cur.is_number()) {
        return fail(errc::type_error, "$inc on '" + std::string(path) + "', which is not a number");
    }
    if (cur.is_int64() && by.is_int64()) {
        std::int64_t r;
        if (!__builtin_add_overflow(cur.get_int64(), by.get_int64(), &r)) {
            cur = r;
            return {};
        }
    }
    boost::system::error_code ec1, ec2;
    double a = cur.to_number<double>(ec1), b = by.to_number<double>(ec2);
    // A sum beyond a double's range would be stored as inf, which is not JSON.
    if (!std::isfinite(a + b)) {
        return fail(errc::invalid_argument, "$inc on '" + std::string(path) + "' is out of range");
    }
    cur = a + b;
    return {};
}

void unset_path(json::object& doc, std::string_view path) {
    std::string_view leaf;
    if (json::object* parent = parent_of(doc, path, false, leaf)) parent->erase(leaf);
}

// The paths an update's operators have named so far, to refuse one named twice. An update
// names a handful: they are searched in place, without the allocation per path a set
// makes (a projector applies an update per event); past `in_place` they go to a set.
class claimed_paths {
  public:
    // False when `path` was claimed before.
    bool claim(std::string_view path) {
        if (more_.empty()) {
            const auto end = few_.begin() + static_cast<std::ptrdiff_t>(count_);
            if (std::find(few_.begin(), end, path) != end) return false;
            if (count_ < few_.size()) {
                few_[count_++] = path;
                return true;
            }
            more_.insert(few_.begin(), few_.end());
        }
        return more_.insert(path).second;
    }

  private:
    static constexpr std::size_t in_place = 16;
    std::array<std::string_view, in_place> few_{};
    std::size_t count_ = 0;
    std::set<std::string_view> more_;  // every claimed path, once `few_` is full
};

}  // namespace

result<json::object> apply_update(const json::object* current, json::object&& update,
                                  std::string_view key, ts_ms default_ts) {
    if (key.size() > max_document_key_bytes) {
        return fail(errc::invalid_argument,
                    "a document key is at most " + std::to_string(max_document_key_bytes) +
                        " bytes; this one is " + std::to_string(key.size()));
    }
    bool has_ops = false, has_fields = false;
    for (const auto& kv : update) (kv.key().starts_with('$') ? has_ops : has_fields) = true;
    if (has_ops && has_fields) {
        return fail(errc::invalid_argument,
                    "an update mixes operators ($set, …) with plain fields");
    }
    json::object doc;
    if (!has_ops) {
        doc = std::move(update);  // replacement
    } else {
        if (current) doc = *current;
        claimed_paths touched;  // views into `update`, which outlives it
        auto claim = [&](std::string_view path) -> status {
            if (!valid_path(path)) {
                return fail(errc::invalid_argument, "bad field path '" + std::string(path) + "'");
            }
            if (!touched.claim(path)) {
                return fail(errc::invalid_argument,
                            "field '" + std::string(path) + "' appears in two operators");
            }
            return {};
        };
        for (const auto& op : update) {
            std::string_view name = op.key();
            if (!op.value().is_object()) {
                return fail(errc::invalid_argument, std::string(name) + " needs an object");
            }
            const auto& fields = op.value().get_object();
            for (const auto& f : fields) {
                if (auto ok = claim(f.key()); !ok) return std::unexpected(ok.error());
                if (name == "$set") {
                    if (auto ok = set_path(doc, f.key(), f.value()); !ok) {
                        return std::unexpected(ok.error());
                    }
                } else if (name == "$setOnInsert") {
                    if (!current) {
                        if (auto ok = set_path(doc, f.key(), f.value()); !ok) {
                            return std::unexpected(ok.error());
                        }
                    }
                } else if (name == "$inc") {
                    if (!f.value().is_number()) {
                        return fail(errc::type_error,
                                    "$inc of '" + std::string(f.key()) + "' needs a number");
                    }
                    if (auto ok = inc_path(doc, f.key(), f.value()); !ok) {
                        return std::unexpected(ok.error());
                    }
                } else if (name == "$unset") {
                    unset_path(doc, f.key());
                } else {
                    return fail(errc::invalid_argument,
                                "unknown update operator '" + std::string(name) + "'");
                }
            }
        }
    }
    if (auto it = doc.find("_key"); it != doc.end()) {
        if (!it->value().is_string() || it->value().get_string() != key) {
            return fail(errc::invalid_argument, "_key cannot be changed");
        }
    }
    // One walk for both bounds. A long dotted path can nest a document deeper than any
    // reader accepts (found by fuzz/json_update): it would be stored but never read back.
    const json_extent extent = measure_json(doc);
    if (const auto limit = parse_limits{}.max_depth; extent.depth > limit) {
        return fail(errc::invalid_argument,
                    "the document would nest deeper than " + std::to_string(limit) + " levels");
    }
    if (extent.bytes > max_document_bytes) {
        return fail(errc::invalid_argument, "the document would be about " +
                                                std::to_string(extent.bytes >> 20) +
                                                " MiB; documents are at most " +
                                                std::to_string(max_document_bytes >> 20) + " MiB");
    }
    doc["_key"] = key;
    auto ts = doc.find("_ts");
    // An unsigned value above int64's range would be kept in the body but read back as a
    // negative document ts (make_document): refused like any other _ts that is no int64.
    if (ts == doc.end() || !int64_of(ts->value())) {
        if (ts != doc.end() && !ts->value().is_null()) {
            return fail(errc::type_error,
                        "_ts must be integer epoch milliseconds (a signed 64-bit integer)");
        }
        doc["_ts"] = default_ts.value;
    }
    return doc;
}

result<json::object> apply_update(const json::object* current, const json::object& update,
                                  std::string_view key, ts_ms default_ts) {
    return apply_update(current, json::object(update), key, default_ts);
}

status check_target(std::string_view collection, std::string_view key) {
    if (!valid_collection_name(collection)) {
        return fail(errc::invalid_argument,
                    "bad collection name '" + std::string(collection) + "'");
    }
    if (key.empty()) return fail(errc::invalid_argument, "a document needs a non-empty _key");
    if (!is_clean_text(key)) {
        return fail(errc::invalid_argument, "a document key must be UTF-8 without NUL characters");
    }
    return {};
}

bool is_replacement(const json::object& update) {
    return std::none_of(update.begin(), update.end(),
                        [](const auto& m) { return m.key().starts_with('$'); });
}

result<json::object> update_stored(const std::optional<document>& stored,
                                   const json::object& update, std::string_view key, bool upsert) {
    if (!stored && !upsert) return fail(errc::not_found, "no document '" + std::string(key) + "'");
    json::object current;
    // A replacement (no operator) does not read the stored document, only whether there is
    // one: skip parsing it (a projector replaces a process document on every event).
    if (stored && !update.empty() && is_replacement(update))
        return apply_update(&current, update, key, now_ms());
    if (stored) {
        auto v = parse_stored_json(stored->body);
        if (!v || !v->is_object()) return fail(errc::corrupt, "stored document does not parse");
        current = std::move(v->get_object());
    }
    return apply_update(stored ? &current : nullptr, update, key, now_ms());
}

document make_document(std::string_view collection, std::string_view key, const json::object& doc) {
    document d;
    d.collection = collection;
    d.key = key;
    const auto& ts = doc.at("_ts");
    d.ts = ts_ms{ts.is_int64() ? ts.get_int64() : static_cast<std::int64_t>(ts.get_uint64())};
    d.body = canonical_json(doc);
    d.etag = etag_of(d.body);
    return d;
}

std::optional<std::string> match_text(const json::object& doc, std::string_view field) {
    auto it = doc.find(field);
    if (it == doc.end()) return std::nullopt;
    const json::value& v = it->value();
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_number() || v.is_bool()) return canonical_json(v);
    return std::nullopt;
}

namespace {
bool name_chars(std::string_view s, bool allow_dot_dash) {
    if (s.empty() || s.size() > 128) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (allow_dot_dash && (c == '.' || c == '-'));
        if (!ok) return false;
    }
    return true;
}
}  // namespace

bool valid_update_path(std::string_view path) { return valid_path(path); }
bool valid_field_name(std::string_view name) { return name_chars(name, false); }
bool valid_collection_name(std::string_view name) { return name_chars(name, true); }

}  // namespace prom::docs
