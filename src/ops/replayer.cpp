#include "ops/replayer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "bus/reserved_groups.hpp"
#include "ops/alerts_topic.hpp"
#include "prom/user_projector.hpp"
#include "retention/erasure_marker.hpp"
#include "userproj/lua_handler.hpp"

namespace prom::ops {

namespace {

constexpr std::chrono::milliseconds lease_ttl{5000};

// Collects what the handler emits for a whole batch and appends it in one call before the
// cursor moves: one append of up to batch_size events instead of one per source event (the
// per-call cost dominated a replay). Both handlers (declarative and Lua) only look at whether
// an append failed, so append() answers an empty list and a failure surfaces at flush(),
// which fails the batch's transaction as a whole, as before. Counts the copies made and the
// copies an earlier run had made already.
//
// The handlers run before the write transaction exists (a Lua map may take up to its time
// limit per event, and held the store's write lock meanwhile, so every publish on the server
// waited; found from outside): a replay's handler only copies, and the copies reach the
// transaction bound afterwards (bind), at flush().
class batching_transaction final : public transaction {
  public:
    result<std::optional<document>> find_one(std::string_view, std::string_view) override {
        return only_copies();
    }
    result<document> update_one(std::string_view, std::string_view, const json::object&,
                                bool) override {
        return only_copies();
    }
    status update(std::string_view, std::string_view, json::object, bool) override {
        return only_copies();
    }
    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        for (auto& in : batch) {
            pending_.push_back(std::move(in));
            sources_.push_back(source_);
        }
        return std::vector<append_result>{};
    }
    // The source event whose copies the handler appends next.
    void copying(seq_t source) { source_ = source; }
    status set_cursor(std::string_view, std::string_view, seq_t) override { return only_copies(); }
    result<std::optional<seq_t>> cursor(std::string_view, std::string_view) override {
        return only_copies();
    }
    status commit() override { return only_copies(); }

    // Appends the batch's copies to `txn` (the write transaction, opened once they are made).
    status flush(transaction& txn) {
        if (pending_.empty()) return {};
        auto r = txn.append(std::move(pending_));
        pending_.clear();
        if (!r) return std::unexpected(with_source(r.error()));
        for (const auto& a : *r) (a.duplicate ? duplicates : copied) += 1;
        return {};
    }

    std::int64_t copied = 0;
    std::int64_t duplicates = 0;

  private:
    static std::unexpected<error> only_copies() {
        return std::unexpected(error{errc::internal, "a replay's handler only copies events"});
    }

    // A refusal that names "event N of the batch" (a schema's) names the copy's source
    // event instead: the batch of copies is the replay's own, its index means nothing to
    // whoever reads the message.
    error with_source(error e) const {
        constexpr std::string_view lead = "event ";
        constexpr std::string_view of_batch = " of the batch: ";
        auto end = e.message.find(of_batch);
        if (!e.message.starts_with(lead) || end == std::string::npos) {
            // A batch of one copy is not numbered.
            if (sources_.size() == 1 && e.code == errc::invalid_payload) {
                e.message = "the copy of seq " + to_string(sources_[0]) + ": " + e.message;
            }
            return e;
        }
        std::size_t index = 0;
        auto digits = std::string_view(e.message).substr(lead.size(), end - lead.size());
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (ec != std::errc{} || p != digits.data() + digits.size() || index >= sources_.size()) {
            return e;
        }
        e.message = "the copy of seq " + to_string(sources_[index]) + ": " +
                    e.message.substr(end + of_batch.size());
        return e;
    }

    std::vector<event_input> pending_;
    std::vector<seq_t> sources_;  // the source event of each pending copy
    seq_t source_{};
};

// A Lua long string that no topic name can close.
std::string lua_literal(std::string_view s) { return "[==[" + std::string(s) + "]==]"; }

// What the caller wrote for `field` (a body field's name): the CLI's flag or argument, or the
// HTTP body's field.
std::string named(const replay_spec& spec, std::string_view field) {
    if (spec.named_by == replay_spec::names::fields) return std::string(field);
    if (field == "src" || field == "dst") {
        std::string upper(field);
        for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
        return upper;
    }
    std::string flag = "--" + std::string(field);
    std::ranges::replace(flag, '_', '-');
    return flag;
}

error option_error(const replay_spec& spec, const definition_error& e) {
    std::string_view field = "map";
    if (e.pointer.starts_with("/where")) field = "where";
    if (e.pointer.starts_with("/lua")) field = "lua";
    if (e.pointer.starts_with("/emit/0/topic")) field = "dst";
    return {errc::invalid_argument, named(spec, field) + ": " + e.message};
}

}  // namespace

class compiled_replay {
  public:
    replay_spec spec;
    std::shared_ptr<const projector_definition> definition;
};

result<replay_spec> parse_replay_request(const json::value& body) {
    if (!body.is_object()) return fail(errc::invalid_argument, "a replay body is a JSON object");
    replay_spec spec;
    spec.named_by = replay_spec::names::fields;
    bool has_src = false, has_dst = false;
    for (const auto& kv : body.get_object()) {
        std::string_view k = kv.key();
        const auto& v = kv.value();
        auto text = [&](std::string& out) -> status {
            if (!v.is_string()) {
                return fail(errc::invalid_argument, "\"" + std::string(k) + "\" is a string");
            }
            out = v.get_string();
            return {};
        };
        auto time = [&](std::optional<ts_ms>& out) -> status {
            if (!v.is_int64() && !v.is_string()) {
                return fail(errc::invalid_argument,
                            "\"" + std::string(k) + "\" is epoch ms or an ISO-8601 string");
            }
            // Epoch ms through the same rule as a string: only times events can have.
            auto t = parse_time(v.is_int64() ? std::to_string(v.get_int64())
                                             : std::string(v.get_string()));
            if (!t) {
                return fail(errc::invalid_argument,
                            "\"" + std::string(k) + "\": " + t.error().message);
            }
            out = *t;
            return {};
        };
        status ok;
        if (k == "src") {
            ok = text(spec.src);
            has_src = true;
        } else if (k == "dst") {
            ok = text(spec.dst);
            has_dst = true;
        } else if (k == "where") {
            spec.where = v;
        } else if (k == "map") {
            spec.map = v;
        } else if (k == "lua") {
            std::string src;
            ok = text(src);
            spec.lua = std::move(src);
        } else if (k == "from_ts") {
            ok = time(spec.from_ts);
        } else if (k == "to_ts") {
            ok = time(spec.to_ts);
        } else if (k == "batch_size") {
            if (!v.is_int64() || v.get_int64() < 1 || v.get_int64() > 100000) {
                ok = fail(errc::invalid_argument, "\"batch_size\" is an integer in 1..100000");
            } else {
                spec.batch_size = static_cast<std::size_t>(v.get_int64());
            }
        } else {
            ok = fail(errc::invalid_argument,
                      "unknown field \"" + std::string(k) +
                          "\" (src, dst, where, map, lua, from_ts, to_ts, batch_size)");
        }
        if (!ok) return std::unexpected(ok.error());
    }
    if (!has_src || !has_dst) {
        return fail(errc::invalid_argument, "a replay needs \"src\" and \"dst\"");
    }
    return spec;
}

std::string replay_group(std::string_view dst) {
    return std::string(replay_group_prefix) + std::string(dst);
}

std::optional<std::string_view> replay_destination(std::string_view group) {
    if (!group.starts_with(replay_group_prefix)) return std::nullopt;
    return group.substr(replay_group_prefix.size());
}

std::string replay_lease(std::string_view dst) { return "replay/" + std::string(dst); }

std::optional<double> replay_progress::eta() const {
    if (done() <= 0 || seconds <= 0) return std::nullopt;
    return static_cast<double>(total() - done()) * seconds / static_cast<double>(done());
}

json::object to_json(const replay_progress& p) {
    json::object o;
    o["done"] = p.done();
    o["total"] = p.total();
    o["cursor"] = p.cursor.value;
    o["end"] = p.end.value;
    o["events_read"] = p.read;
    o["copied"] = p.copied;
    o["duplicates"] = p.duplicates;
    o["skipped_markers"] = p.markers;
    o["events_per_second"] = static_cast<std::int64_t>(p.rate());
    auto eta = p.eta();
    o["eta_seconds"] =
        eta ? json::value(static_cast<std::int64_t>(std::llround(*eta))) : json::value();
    return o;
}

result<std::shared_ptr<const compiled_replay>> compile_replay(store& s, const replay_spec& spec) {
    const std::string src = named(spec, "src"), dst = named(spec, "dst");
    if (spec.src.find('*') != std::string::npos) {
        return fail(errc::invalid_argument, src + " is one topic, not a pattern");
    }
    if (spec.src == spec.dst) {
        return fail(errc::invalid_argument, dst + " must differ from " + src);
    }
    if (spec.map && spec.lua) {
        return fail(errc::invalid_argument,
                    named(spec, "map") + " and " + named(spec, "lua") + " exclude each other");
    }
    if (spec.from_ts && spec.to_ts && *spec.from_ts > *spec.to_ts) {
        return fail(errc::invalid_argument,
                    named(spec, "from_ts") + " is after " + named(spec, "to_ts"));
    }
    if (spec.batch_size == 0) return fail(errc::invalid_argument, "the batch size is at least 1");
    event_input probe{.topic = spec.dst, .payload = nullptr};
    if (auto ok = validate_input(probe); !ok) {
        return fail(errc::invalid_argument, dst + ": " + ok.error().message);
    }
    // Refused here, not at the first batch's commit (the schema check refuses every event
    // there that is not an alarm): a replay into it could never copy anything.
    if (spec.dst == alerts_topic) {
        return fail(errc::invalid_argument, dst + ": " + alerts_topic_refusal());
    }
    auto t = s.topic(spec.src);
    if (!t) return std::unexpected(t.error());
    // Bad input like the others (400, exit 2: docs/operations.md), named as the caller named it.
    if (!*t)
        return fail(errc::invalid_argument, named(spec, "src") + ": no topic '" + spec.src + "'");

    json::object def{{"name", "replay"}, {"topic", spec.src}};
    if (spec.where) def["where"] = *spec.where;
    if (spec.lua) {
        if (auto problem = userproj::lua_syntax_problem(*spec.lua)) {
            return fail(errc::invalid_argument, named(spec, "lua") + ": " + *problem);
        }
        // The user's map(event) decides the payload (nil: no copy); the emit is ours. The
        // wrapper is one line before the file's first, so Lua's messages give the file's own
        // line numbers, and the check for map after it runs when the definition is compiled
        // (found from outside: "'(' expected near 'handle'" for a file without it, at line 2
        // of a one-line file; a file without map failed only at the first event).
        def["lua"] =
            "function handle(event, tx) "
            "local p = map(event) "
            "if p == nil then return end "
            // Where the wrapper failed means nothing to the file's author: what
            // map returned is what could not be copied.
            "local ok, why = pcall(tx.emit, tx, " +
            lua_literal(spec.dst) +
            ", event.key, p) "
            "if not ok then "
            "local m = tostring(why):gsub('^[^:]*:%d+: ', '') "
            "m = m:gsub('^tx:emit: ', '') "
            "error('map(event) returned what cannot be copied: ' .. m, 0) "
            "end end " +
            *spec.lua +
            // The global, which handle calls: a `local function map` is not it.
            "\nif type(_ENV.map) ~= 'function' then "
            "error('the file defines no function map(event)', 0) end\n";
    } else {
        json::object emit{{"topic", spec.dst},
                          {"payload", spec.map ? *spec.map : json::value("$payload")}};
        def["emit"] = json::array{std::move(emit)};
    }
    auto parsed = parse_projector_definition(json::value(std::move(def)));
    if (!parsed) return std::unexpected(option_error(spec, parsed.error()));
    auto out = std::make_shared<compiled_replay>();
    out->spec = spec;
    out->definition = std::make_shared<const projector_definition>(std::move(*parsed));
    return std::shared_ptr<const compiled_replay>(std::move(out));
}

result<replay_progress> run_replay(store& s, const compiled_replay& r,
                                   const std::function<bool(const replay_progress&)>& on_progress) {
    const auto& spec = r.spec;
    const std::string group = replay_group(spec.dst);
    const std::string lease = replay_lease(spec.dst);
    const std::string owner = new_event_id();
    auto got = s.acquire_lease(lease, owner, lease_ttl);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
        return fail(errc::conflict,
                    "a replay into '" + spec.dst + "' is running (or stopped less than 5 s ago)");
    }
    struct release {
        store& s;
        const std::string& lease;
        const std::string& owner;
        ~release() { (void)s.release_lease(lease, owner); }
    } releaser{s, lease, owner};

    auto handler = make_user_handler(r.definition);
    auto t = s.topic(spec.src);
    if (!t) return std::unexpected(t.error());
    auto cur = s.cursor(spec.src, group);
    if (!cur) return std::unexpected(cur.error());
    replay_progress p;
    p.end = *t ? (*t)->last_seq : seq_t{};
    p.start = std::min(cur->value_or(seq_t{}), p.end);
    p.cursor = p.start;
    // Where the run starts, before its first batch: a run that fails in that batch still
    // says where it stands (its summary, GET /replays), not a row of zeros.
    if (on_progress && !on_progress(p)) {
        return fail(errc::cancelled, "the replay was cancelled at seq " + to_string(p.cursor));
    }
    const auto began = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    };
    while (p.cursor < p.end) {
        scan_query q{
            .topic = spec.src, .from_seq = p.cursor + 1, .to_seq = p.end, .limit = spec.batch_size};
        auto batch = scan_fitting(s, q);
        if (!batch) return std::unexpected(batch.error());
        if (batch->empty()) break;
        batching_transaction counted;
        std::int64_t markers = 0;
        for (const auto& e : *batch) {
            // Asked between events too, not only between batches: a batch of slow Lua maps
            // kept a stopping server waiting past its shutdown deadline (found from outside).
            // Nothing of the batch is written yet.
            if (on_progress && !on_progress(p)) {
                return fail(errc::cancelled,
                            "the replay was cancelled at seq " + to_string(p.cursor));
            }
            if ((spec.from_ts && e.ts < *spec.from_ts) || (spec.to_ts && e.ts > *spec.to_ts)) {
                continue;
            }
            // An erasure is SRC's: its marker says that a key of SRC was erased, and a copy
            // would say so of DST, whose own copies of the key it does not erase
            // (docs/operations.md). Counted, so that the summary says what was left out.
            if (retention::is_erasure_marker(e)) {
                ++markers;
                continue;
            }
            status st;
            counted.copying(e.seq);
            try {
                st = handler(e, counted);
            } catch (const std::exception& ex) {
                st = fail(errc::internal, ex.what());
            }
            if (!st) {
                return fail(st.error().code == errc::invalid_argument ? errc::invalid_argument
                                                                      : st.error().code,
                            "seq " + to_string(e.seq) + " of '" + spec.src +
                                "': " + st.error().message + " (nothing after seq " +
                                to_string(p.cursor) + " was copied)");
            }
        }
        auto txn = s.begin();
        if (!txn) return std::unexpected(txn.error());
        // The cursor in the transaction, not the one read at the start: a replay that lost
        // its lease (a pause longer than its TTL) must not copy a batch twice.
        auto in_txn = (*txn)->cursor(spec.src, group);
        if (!in_txn) return std::unexpected(in_txn.error());
        if (in_txn->value_or(seq_t{}) != p.cursor) {
            // Named as what moved it can be: a seek of the group as well as another replay
            // (found from outside: a forced seek was reported as another replay).
            return fail(errc::conflict,
                        "the replay's cursor moved under it (from seq " + to_string(p.cursor) +
                            " to " + to_string(in_txn->value_or(seq_t{})) + "): a seek of group '" +
                            group + "' or another replay into '" + spec.dst +
                            "' moved it; nothing after seq " + to_string(p.cursor) +
                            " was copied by this run, and a new run goes on from the cursor");
        }
        if (auto ok = counted.flush(**txn); !ok) {
            return fail(ok.error().code, "copying seqs " + to_string(batch->front().seq) + ".." +
                                             to_string(batch->back().seq) + " of '" + spec.src +
                                             "': " + ok.error().message + " (nothing after seq " +
                                             to_string(p.cursor) + " was copied)");
        }
        if (auto ok = (*txn)->set_cursor(spec.src, group, batch->back().seq); !ok) {
            return std::unexpected(ok.error());
        }
        if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
        p.cursor = batch->back().seq;
        p.read += static_cast<std::int64_t>(batch->size());
        p.markers += markers;
        p.copied += counted.copied;
        p.duplicates += counted.duplicates;
        p.seconds = elapsed();
        auto renewed = s.acquire_lease(lease, owner, lease_ttl);
        if (!renewed) return std::unexpected(renewed.error());
        if (!*renewed) {
            return fail(errc::conflict, "the replay into '" + spec.dst + "' lost its lease");
        }
        if (on_progress && !on_progress(p)) {
            return fail(errc::cancelled, "the replay was cancelled at seq " + to_string(p.cursor));
        }
    }
    if (!cur->has_value()) {
        // An empty range still records that the replay ran (a rerun copies nothing).
        if (auto ok = s.set_cursor(spec.src, group, p.cursor); !ok) {
            return std::unexpected(ok.error());
        }
    }
    p.seconds = elapsed();
    if (on_progress) on_progress(p);
    return p;
}

}  // namespace prom::ops
