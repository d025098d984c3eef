#include "userproj_runtime/registry.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "bus/reserved_groups.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "prom/process_projectors.hpp"
#include "prom/user_projector.hpp"
#include "userproj_runtime/emit_loops.hpp"

namespace prom::userproj {

namespace {

json::object map_to_json(const collection_map& m) {
    json::object o;
    for (const auto& [k, v] : m) o[k] = v;
    return o;
}

const json::value* member(const json::object& o, std::string_view k) {
    auto it = o.find(k);
    return it == o.end() ? nullptr : &it->value();
}

std::optional<std::int64_t> as_int(const json::value* v) {
    if (!v) return std::nullopt;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    return std::nullopt;
}

// `"from": "latest"` means the events published after the definition was applied. Each topic
// it covers now, and has no cursor of the group yet, gets one at its end in the applying
// transaction; the runners then start every topic without a cursor from its beginning, so a
// topic that appears later is read whole, and an event published while a runner was still
// starting is not skipped (docs/projectors.md).
status pin_latest(store& s, transaction& txn, std::string_view pattern, std::string_view group) {
    auto topics = s.topics();
    if (!topics) return std::unexpected(topics.error());
    for (const auto& t : *topics) {
        if (!covers_topic(pattern, t.topic)) continue;
        auto c = txn.cursor(t.topic, group);
        if (!c) return std::unexpected(c.error());
        if (*c) continue;
        if (auto ok = txn.set_cursor(t.topic, group, t.last_seq); !ok) return ok;
    }
    return {};
}

std::optional<collection_map> map_of(const json::value* v) {
    collection_map m;
    if (!v) return m;
    if (!v->is_object()) return std::nullopt;
    for (const auto& kv : v->get_object()) {
        if (!kv.value().is_string()) return std::nullopt;
        m.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    return m;
}

error corrupt_entry(std::string_view why) {
    return {errc::corrupt, "projector registry: " + std::string(why)};
}

// A token that makes rebuild groups and shadow collections unique: the random tail of a
// UUIDv7 (never reused, so a rebuild never writes into an earlier rebuild's leftovers).
std::string fresh_token() {
    std::string id = new_event_id();
    std::erase(id, '-');
    return id.substr(id.size() - 10);
}

std::string serving_group(std::string_view name) {
    return std::string(projector_group_prefix) + std::string(name);
}

apply_error invalid(std::string message, std::string pointer) {
    return {{errc::invalid_argument, std::move(message)}, std::move(pointer)};
}

apply_error store_failure(const error& e) { return {e, std::nullopt}; }

// Where a collection is named in a definition: "/writes/i/collection" or "/collections/i".
std::string pointer_to_collection(const json::object& source, std::string_view collection) {
    for (std::string_view list : {"writes", "collections"}) {
        auto it = source.find(list);
        if (it == source.end() || !it->value().is_array()) continue;
        const auto& a = it->value().get_array();
        for (std::size_t i = 0; i < a.size(); ++i) {
            const json::value* named = &a[i];
            if (list == "writes") {
                if (!a[i].is_object() || !a[i].get_object().contains("collection")) continue;
                named = &a[i].get_object().at("collection");
            }
            if (named->is_string() && named->get_string() == collection) {
                return "/" + std::string(list) + "/" + std::to_string(i) +
                       (list == "writes" ? "/collection" : "");
            }
        }
    }
    return "";
}

// Applies from every process, one at a time: a store-wide lease held from the first read of
// the registry to the commit. On PostgreSQL reading a registry row that is not there yet
// locks nothing, so two nodes creating one name both read "none" and both answered 201,
// the later commit replacing the other, a lower version included (found from outside); the
// checks against the other definitions (emit loops, collections being rebuilt) met alike.
// Its ttl bounds how long a killed apply blocks the others.
class apply_lease {
  public:
    static std::expected<apply_lease, apply_error> take(store& s) {
        using namespace std::chrono_literals;
        const auto give_up = std::chrono::steady_clock::now() + 10s;
        std::string owner = new_event_id();
        for (;;) {
            auto got = s.acquire_lease(name, owner, 10s);
            if (!got) return std::unexpected(store_failure(got.error()));
            if (*got) return apply_lease(s, std::move(owner));
            if (std::chrono::steady_clock::now() >= give_up) {
                return std::unexpected(apply_error{
                    {errc::unavailable,
                     "another projector definition is being applied (for over 10 s): try again"},
                    std::nullopt});
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    apply_lease(apply_lease&& other) noexcept
        : store_(std::exchange(other.store_, nullptr)), owner_(std::move(other.owner_)) {}
    apply_lease& operator=(apply_lease&&) = delete;
    apply_lease(const apply_lease&) = delete;
    apply_lease& operator=(const apply_lease&) = delete;
    ~apply_lease() {
        if (store_) (void)store_->release_lease(name, owner_);  // best effort: it expires
    }

  private:
    static constexpr std::string_view name = "prom.projectors/apply";
    apply_lease(store& s, std::string owner) : store_(&s), owner_(std::move(owner)) {}
    store* store_;
    std::string owner_;
};

status write_entry(transaction& txn, const registry_entry& e) {
    auto d = txn.update_one(registry_collection, e.name, to_json(e), true);
    if (!d) return std::unexpected(d.error());
    return {};
}

}  // namespace

bool covers_topic(std::string_view pattern, std::string_view topic) {
    if (!topic_matches(pattern, topic)) return false;
    return pattern == topic || !topic.ends_with(".dlq");
}

json::object to_json(const registry_entry& e) {
    json::object o;
    o["name"] = e.name;
    o["deleted"] = e.deleted;
    o["generation"] = e.generation;
    o["version"] = e.version;
    o["group"] = e.group;
    o["collections"] = map_to_json(e.collections);
    if (!e.deleted) o["definition"] = e.definition;
    if (e.failed)
        o["failed"] = json::object{{"error", e.failed->error}, {"at", e.failed->at.value}};
    if (e.rebuild_failed) {
        o["rebuild_failed"] =
            json::object{{"error", e.rebuild_failed->error}, {"at", e.rebuild_failed->at.value}};
    }
    if (e.rebuild) {
        o["rebuild"] = json::object{{"definition", e.rebuild->definition},
                                    {"version", e.rebuild->version},
                                    {"group", e.rebuild->group},
                                    {"collections", map_to_json(e.rebuild->collections)}};
    }
    return o;
}

result<registry_entry> entry_from_json(const json::object& o) {
    registry_entry e;
    auto name = member(o, "name");
    auto group = member(o, "group");
    auto generation = as_int(member(o, "generation"));
    auto version = as_int(member(o, "version"));
    auto cols = map_of(member(o, "collections"));
    if (!name || !name->is_string() || !group || !group->is_string() || !generation || !version ||
        !cols) {
        return std::unexpected(
            corrupt_entry("a document lacks name, group, generation, version or collections"));
    }
    e.name = name->get_string();
    e.group = group->get_string();
    e.generation = *generation;
    e.version = *version;
    e.collections = std::move(*cols);
    if (auto d = member(o, "deleted"); d && d->is_bool()) e.deleted = d->get_bool();
    if (!e.deleted) {
        auto def = member(o, "definition");
        if (!def || !def->is_object())
            return std::unexpected(corrupt_entry("no definition in '" + e.name + "'"));
        e.definition = def->get_object();
    }
    for (auto [field, into] :
         {std::pair{"failed", &e.failed}, std::pair{"rebuild_failed", &e.rebuild_failed}}) {
        if (auto f = member(o, field); f && f->is_object()) {
            auto msg = member(f->get_object(), "error");
            *into = failure_note{msg && msg->is_string() ? std::string(msg->get_string()) : "",
                                 ts_ms{as_int(member(f->get_object(), "at")).value_or(0)}};
        }
    }
    if (auto r = member(o, "rebuild"); r && r->is_object()) {
        const auto& ro = r->get_object();
        auto def = member(ro, "definition");
        auto rv = as_int(member(ro, "version"));
        auto rg = member(ro, "group");
        auto rc = map_of(member(ro, "collections"));
        if (!def || !def->is_object() || !rv || !rg || !rg->is_string() || !rc) {
            return std::unexpected(corrupt_entry("a bad rebuild in '" + e.name + "'"));
        }
        e.rebuild =
            rebuild_plan{def->get_object(), *rv, std::string(rg->get_string()), std::move(*rc)};
    }
    return e;
}

result<std::vector<registry_entry>> load_registry(store& s) {
    std::vector<registry_entry> out;
    find_query q;
    q.collection = registry_collection;
    q.limit = 1000;
    for (;;) {
        auto page = find_fitting(s, q);
        if (!page) return std::unexpected(page.error());
        for (const auto& d : *page) {
            auto v = parse_json(d.body, {.max_depth = 1024, .max_bytes = SIZE_MAX});
            if (!v || !v->is_object())
                return std::unexpected(corrupt_entry("a document does not parse"));
            auto e = entry_from_json(v->get_object());
            if (!e) return std::unexpected(e.error());
            out.push_back(std::move(*e));
        }
        if (page->size() < q.limit) break;
        q.offset += page->size();
    }
    std::ranges::sort(out, {}, &registry_entry::name);
    return out;
}

namespace {

result<std::optional<registry_entry>> entry_in(const std::optional<document>& d) {
    if (!d) return std::optional<registry_entry>{};
    auto v = parse_json(d->body, {.max_depth = 1024, .max_bytes = SIZE_MAX});
    if (!v || !v->is_object()) return std::unexpected(corrupt_entry("a document does not parse"));
    auto e = entry_from_json(v->get_object());
    if (!e) return std::unexpected(e.error());
    return std::optional<registry_entry>(std::move(*e));
}

// The entry of `name` read inside `txn` (none when absent): the first step of every
// read-modify-write of the registry, so that the change and the read commit together.
result<std::optional<registry_entry>> entry_in_txn(transaction& txn, std::string_view name) {
    auto d = txn.find_one(registry_collection, name);
    if (!d) return std::unexpected(d.error());
    return entry_in(*d);
}

}  // namespace

result<std::optional<registry_entry>> load_entry(store& s, std::string_view name) {
    if (!docs::check_target(registry_collection, name)) return std::optional<registry_entry>{};
    auto d = s.find_one(registry_collection, name);
    if (!d) return std::unexpected(d.error());
    auto e = entry_in(*d);
    if (e && *e && (*e)->deleted) return std::optional<registry_entry>{};
    return e;
}

collection_map read_aliases(const std::vector<registry_entry>& entries) {
    collection_map out;
    for (bool live : {false, true}) {  // tombstones first, so that live entries win
        for (const auto& e : entries) {
            if (e.deleted == live) continue;
            for (const auto& [logical, physical] : e.collections) {
                if (logical != physical) out[logical] = physical;
            }
        }
    }
    return out;
}

error lower_version(std::int64_t given, std::int64_t stored) {
    return {errc::conflict, "version " + std::to_string(given) +
                                " is lower than the stored version " + std::to_string(stored)};
}

std::expected<applied, apply_error> apply_definition(store& s, const json::value& body,
                                                     std::string_view name_from_path,
                                                     const definition_check& may_apply) {
    // One apply at a time in this process: the checks against the other definitions (emit
    // loops, collections being rebuilt) read the registry before the write transaction, so
    // two PUTs at once could each pass and together close a loop (found from outside).
    // Applies from other processes wait for each other on a lease (apply_lease, below).
    static std::mutex one_at_a_time;
    std::lock_guard serial(one_at_a_time);
    json::value given = body;
    if (!name_from_path.empty() && given.is_object()) {
        auto& o = given.get_object();
        auto n = o.find("name");
        if (n == o.end()) {
            o["name"] = name_from_path;
        } else if (!n->value().is_string()) {
            return std::unexpected(invalid("'name' must be a string", "/name"));
        } else if (n->value().get_string() != name_from_path) {
            return std::unexpected(
                invalid("the body's name differs from the name in the path", "/name"));
        }
    }
    auto parsed = parse_projector_definition(given);
    if (!parsed) return std::unexpected(invalid(parsed.error().message, parsed.error().pointer));
    const projector_definition& def = *parsed;
    // The bulk replayer's copies say `prom-projector: replay` and derive their ids as a
    // projector of that name would: a definition of the name would take them for its own.
    if (def.name == "replay") {
        return std::unexpected(invalid(
            "'replay' is the bulk replayer's name (docs/operations.md): choose another", "/name"));
    }
    if (may_apply) {
        if (auto refusal = may_apply(def)) return std::unexpected(std::move(*refusal));
    }
    for (const auto& c : def.collections) {
        if (docs::reserved_collection(c)) {
            return std::unexpected(
                invalid("collection '" + c + "' is reserved for prom (\"_prom.\")",
                        pointer_to_collection(def.source, c)));
        }
    }

    auto lease = apply_lease::take(s);
    if (!lease) return std::unexpected(lease.error());
    // Read outside the transaction (a transaction has no find): the aliases that new
    // collections resolve to, and the other definitions a rebuild must not share a
    // collection with. Under the lease no other apply changes it meanwhile.
    auto all = load_registry(s);
    if (!all) return std::unexpected(store_failure(all.error()));
    if (auto loop = emit_loop(def.source, *all); !loop.empty()) {
        std::string names;
        for (const auto& n : loop) names += (names.empty() ? "" : " -> ") + n;
        return std::unexpected(
            invalid("its emits would loop: " + names +
                        " (each emits into a topic the next consumes, so one event would feed them "
                        "without end)",
                    "/emit"));
    }
    auto aliases = read_aliases(*all);
    // A collection another definition is rebuilding is swapped under every writer at the
    // swap: a definition starting to write it now would keep writing the old physical
    // collection, which nobody reads afterwards. It may after the swap.
    for (const auto& other : *all) {
        if (other.deleted || other.name == def.name || !other.rebuild) continue;
        for (const auto& c : def.collections) {
            if (!other.rebuild->collections.contains(c)) continue;
            return std::unexpected(apply_error{
                {errc::conflict, "collection '" + c + "' is being rebuilt by projector '" +
                                     other.name + "': apply this after its swap"},
                std::nullopt});
        }
    }

    auto txn = s.begin();
    if (!txn) return std::unexpected(store_failure(txn.error()));
    auto stored_doc = (*txn)->find_one(registry_collection, def.name);
    if (!stored_doc) return std::unexpected(store_failure(stored_doc.error()));
    auto stored = entry_in(*stored_doc);
    if (!stored) return std::unexpected(store_failure(stored.error()));

    registry_entry e;
    apply_kind kind = apply_kind::replaced;
    auto resolve = [&](const std::string& logical) {
        auto it = aliases.find(logical);
        return it == aliases.end() ? logical : it->second;
    };
    if (!*stored || (*stored)->deleted) {
        kind = apply_kind::created;
        e.name = def.name;
        e.generation = *stored ? (*stored)->generation + 1 : 1;
        e.group = *stored ? (*stored)->group : serving_group(def.name);
        e.version = def.version;
        e.definition = def.source;
        for (const auto& c : def.collections) {
            e.collections[c] = *stored && (*stored)->collections.contains(c)
                                   ? (*stored)->collections.at(c)
                                   : resolve(c);
        }
    } else {
        e = **stored;
        if (def.version < e.version) {
            return std::unexpected(
                apply_error{lower_version(def.version, e.version), std::nullopt});
        }
        bool same_as_serving = same_definition(def.source, e.definition);
        bool same_as_rebuild = e.rebuild && same_definition(def.source, e.rebuild->definition);
        // The same body as the serving version, or as the pending rebuild, changes nothing:
        // a node restarting with the serving version in its config files must not cancel
        // the rebuild another node (or an operator) started (docs/projectors.md).
        if (same_as_serving || same_as_rebuild) {
            if (!e.failed) return applied{apply_kind::unchanged, e};
            kind = apply_kind::unchanged;  // clears `failed`: the runners start again
            e.failed.reset();
            e.generation += 1;
        } else if (def.rebuild && def.version > e.version) {
            // Versions only go up, pending ones included (found from outside: a rebuild at 9
            // replaced the pending one at 10).
            if (e.rebuild && def.version < e.rebuild->version) {
                return std::unexpected(apply_error{
                    {errc::conflict, "version " + std::to_string(def.version) +
                                         " is lower than the pending rebuild's version " +
                                         std::to_string(e.rebuild->version)},
                    std::nullopt});
            }
            // The built-in process projector writes these under their own names (on whichever
            // node runs it): a swap would serve a shadow it never writes.
            for (const auto& c : def.collections) {
                if (c == processes_collection || c == host_stats_collection) {
                    return std::unexpected(apply_error{
                        {errc::conflict, "collection '" + c +
                                             "' is also written by the built-in process "
                                             "projector: a rebuild would swap it under it"},
                        std::nullopt});
                }
            }
            for (const auto& other : *all) {
                if (other.deleted || other.name == e.name) continue;
                for (const auto& c : def.collections) {
                    if (other.collections.contains(c)) {
                        return std::unexpected(apply_error{
                            {errc::conflict, "collection '" + c +
                                                 "' is also written by projector '" + other.name +
                                                 "': a rebuild would swap it under it"},
                            std::nullopt});
                    }
                }
            }
            rebuild_plan plan;
            plan.definition = def.source;
            plan.version = def.version;
            auto token = fresh_token();
            plan.group = base_group(e.group) + "@" + token;
            for (const auto& c : def.collections) {
                std::string shadow(docs::reserved_collection_prefix);
                shadow += token;
                shadow += '.';
                shadow += c;
                if (!docs::valid_collection_name(shadow)) {
                    std::string message = "collection '";
                    message += c;
                    message += "' is too long to rebuild (shadow name '";
                    message += shadow;
                    message += "')";
                    return std::unexpected(
                        invalid(std::move(message), pointer_to_collection(def.source, c)));
                }
                plan.collections[c] = shadow;
            }
            e.rebuild = std::move(plan);
            e.rebuild_failed.reset();
            e.failed.reset();
            e.generation += 1;
        } else {
            e.version = def.version;
            e.definition = def.source;
            collection_map cols;
            for (const auto& c : def.collections) {
                cols[c] = e.collections.contains(c) ? e.collections.at(c) : resolve(c);
            }
            e.collections = std::move(cols);
            e.rebuild.reset();
            e.rebuild_failed.reset();
            e.failed.reset();
            e.generation += 1;
        }
    }
    e.deleted = false;
    if (auto ok = write_entry(**txn, e); !ok) return std::unexpected(store_failure(ok.error()));
    if (kind != apply_kind::unchanged && !e.rebuild && def.from == start_from::latest) {
        if (auto ok = pin_latest(s, **txn, def.topic, e.group); !ok)
            return std::unexpected(store_failure(ok.error()));
    }
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(store_failure(ok.error()));
    return applied{kind, std::move(e)};
}

status remove_definition(store& s, std::string_view name) {
    if (!docs::check_target(registry_collection, name)) {
        return fail(errc::not_found, "no projector '" + std::string(name) + "'");
    }
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    auto e = entry_in_txn(**txn, name);
    if (!e) return std::unexpected(e.error());
    if (!*e || (*e)->deleted)
        return fail(errc::not_found, "no projector '" + std::string(name) + "'");
    registry_entry t = **e;
    t.deleted = true;
    t.definition = {};
    t.rebuild.reset();
    t.failed.reset();
    t.generation += 1;
    if (auto ok = write_entry(**txn, t); !ok) return ok;
    return (*txn)->commit();
}

status mark_failed(store& s, std::string_view name, std::int64_t generation,
                   std::string_view message) {
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    auto e = entry_in_txn(**txn, name);
    if (!e) return std::unexpected(e.error());
    if (!*e || (*e)->deleted || (*e)->generation != generation || (*e)->failed) return {};
    registry_entry f = **e;
    f.failed = failure_note{std::string(message), now_ms()};
    f.generation += 1;
    if (auto ok = write_entry(**txn, f); !ok) return ok;
    return (*txn)->commit();
}

status abandon_rebuild(store& s, std::string_view name, std::int64_t generation,
                       std::string_view message) {
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    auto e = entry_in_txn(**txn, name);
    if (!e) return std::unexpected(e.error());
    if (!*e || (*e)->deleted || (*e)->generation != generation || !(*e)->rebuild) return {};
    registry_entry f = **e;
    f.rebuild.reset();
    f.rebuild_failed = failure_note{std::string(message), now_ms()};
    f.generation += 1;
    if (auto ok = write_entry(**txn, f); !ok) return ok;
    return (*txn)->commit();
}

status withhold_failure_texts(store& s, std::string_view topic) {
    const std::string about = "topic " + std::string(topic) + ": ";
    auto entries = load_registry(s);
    if (!entries) return std::unexpected(entries.error());
    for (const auto& listed : *entries) {
        auto quotes = [&](const std::optional<failure_note>& n) {
            return n && n->error.starts_with(about);
        };
        if (!quotes(listed.failed) && !quotes(listed.rebuild_failed)) continue;
        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        auto e = entry_in_txn(**txn, listed.name);
        if (!e) return std::unexpected(e.error());
        if (!*e) continue;
        registry_entry w = **e;
        const std::string withheld =
            about +
            "(the error's text was withheld: a key of the topic was erased after it; "
            "the dead-letter entries of what still exists say what failed)";
        for (auto* n : {&w.failed, &w.rebuild_failed}) {
            if (quotes(*n)) (*n)->error = withheld;
        }
        // The document's earlier bodies in the change log held the text too.
        if (auto gone = (*txn)->erase_one(registry_collection, w.name); !gone) {
            return std::unexpected(gone.error());
        }
        if (auto ok = write_entry(**txn, w); !ok) return ok;
        if (auto ok = (*txn)->commit(); !ok) return ok;
    }
    return {};
}

result<bool> complete_rebuild(store& s, std::string_view name, std::int64_t generation,
                              const std::function<result<bool>(transaction&)>& caught_up) {
    // Read before the transaction (a store read inside it would wait for it on `memory:`);
    // each one that matters is read again inside.
    auto tombstones = load_registry(s);
    if (!tombstones) return std::unexpected(tombstones.error());
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    auto e = entry_in_txn(**txn, name);
    if (!e) return std::unexpected(e.error());
    if (!*e || (*e)->deleted || (*e)->generation != generation || !(*e)->rebuild) return false;
    auto ready = caught_up(**txn);
    if (!ready) return std::unexpected(ready.error());
    if (!*ready) return false;
    // Tombstones that still map a collection this swap moves (a deleted definition that
    // wrote it before) lose that mapping: after a later delete of this definition, reads
    // must resolve through its tombstone, the newest, not an older one's stale shadow.
    for (const auto& other : *tombstones) {
        if (!other.deleted || other.name == name) continue;
        bool stale = false;
        for (const auto& [logical, shadow] : (*e)->rebuild->collections) {
            stale = stale || other.collections.contains(logical);
        }
        if (!stale) continue;
        auto t = entry_in_txn(**txn, other.name);
        if (!t) return std::unexpected(t.error());
        if (!*t || !(*t)->deleted) continue;
        registry_entry tomb = **t;
        for (const auto& [logical, shadow] : (*e)->rebuild->collections) {
            tomb.collections.erase(logical);
        }
        if (auto ok = write_entry(**txn, tomb); !ok) return std::unexpected(ok.error());
    }
    registry_entry n = **e;
    rebuild_plan plan = std::move(*n.rebuild);
    n.rebuild.reset();
    n.definition = std::move(plan.definition);
    n.version = plan.version;
    n.group = std::move(plan.group);
    n.collections = std::move(plan.collections);
    n.failed.reset();
    n.generation += 1;
    if (auto ok = write_entry(**txn, n); !ok) return std::unexpected(ok.error());
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    return true;
}

}  // namespace prom::userproj
