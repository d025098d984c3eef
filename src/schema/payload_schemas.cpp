#include "schema/payload_schemas.hpp"

#include <mutex>

#include "ops/alerts_topic.hpp"
#include "retention/erasure_marker.hpp"
#include "schema/schema_registry.hpp"

namespace prom::schema {

json::object invalid_payload_json(const error& e) {
    json::object o;
    o["error"] = "invalid_payload";
    o["message"] = e.message;
    o["path"] = e.path.value_or("");
    o["schema_version"] = e.schema_version.value_or(0);
    return o;
}

payload_schemas::payload_schemas(store& source, std::chrono::milliseconds recheck)
    : source_(source), recheck_(recheck) {}

void payload_schemas::forget(const std::vector<document>& changed) {
    bool any = false;
    for (const auto& d : changed) any = any || d.collection == current_collection;
    if (!any) return;
    std::unique_lock lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    for (const auto& d : changed) {
        if (d.collection == current_collection) cache_.erase(d.key);
    }
}

result<std::shared_ptr<const payload_schemas::entry>> payload_schemas::load(
    const std::string& topic, const std::shared_ptr<const entry>& cached) {
    // Read before looking at the generation again: a forget() in between means what we
    // read may be older than the commit that caused it, so it is used but not cached.
    const auto generation = generation_.load(std::memory_order_acquire);
    auto d = source_.find_one(current_collection, topic);
    if (!d) return std::unexpected(d.error());
    auto fresh = std::make_shared<entry>();
    fresh->loaded = std::chrono::steady_clock::now();
    if (*d) {
        fresh->etag = (*d)->etag;
        if (cached && cached->etag == fresh->etag) {
            fresh->schema = cached->schema;
            fresh->version = cached->version;
        } else {
            auto body = parse_json((*d)->body);
            if (!body || !body->is_object())
                return fail(errc::corrupt, "a stored schema does not parse");
            auto v = schema_version_from_json(body->get_object());
            if (!v) return std::unexpected(v.error());
            auto compiled = compiled_schema::compile(v->schema);
            if (!compiled) {
                return fail(errc::corrupt, "the stored schema of topic '" + topic +
                                               "' does not compile: " + compiled.error().message);
            }
            fresh->schema = std::move(*compiled);
            fresh->version = v->version;
        }
    }
    std::shared_ptr<const entry> out = std::move(fresh);
    std::unique_lock lock(mu_);
    if (generation_.load(std::memory_order_acquire) == generation) cache_[topic] = out;
    return out;
}

result<std::shared_ptr<const payload_schemas::entry>> payload_schemas::lookup(
    const std::string& topic) {
    std::shared_ptr<const entry> cached;
    {
        std::shared_lock lock(mu_);
        if (auto it = cache_.find(topic); it != cache_.end()) cached = it->second;
    }
    if (cached && std::chrono::steady_clock::now() - cached->loaded < recheck_) return cached;
    return load(topic, cached);
}

status payload_schemas::check(const std::vector<event_input>& batch) {
    std::shared_ptr<const entry> e;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& in = batch[i];
        if (in.topic == ops::alerts_topic) {
            if (in.headers.contains(std::string(ops::alarm_header))) continue;
            // A batch's event named as the other refusals of a batch name it.
            std::string where = batch.size() > 1 ? "events[" + std::to_string(i) + "]: " : "";
            return fail(errc::invalid_argument, where + ops::alerts_topic_refusal());
        }
        // Events of one topic follow each other in most batches: look it up once for them.
        if (!e || batch[i - 1].topic != in.topic) {
            auto found = lookup(in.topic);
            if (!found) return std::unexpected(found.error());
            e = std::move(*found);
        }
        if (!e->schema) continue;
        // Dead letters are never refused (put_schema refuses a schema there; one stored
        // before that rule is ignored): a refused dead letter would stall its projector.
        if (in.topic.ends_with(".dlq")) continue;
        // An erasure marker (docs/retention.md) carries no payload by design, whatever the
        // topic's schema says: erasing a key must never fail on it.
        // A payload read as canonical text is parsed here, for topics with a schema only.
        json::value parsed;
        const json::value* payload = &in.payload;
        if (!in.payload_canonical.empty()) {
            parsed = payload_value(in);
            payload = &parsed;
        }
        if (retention::is_erasure_marker(*payload, in.headers)) continue;
        auto why = e->schema->first_violation(*payload);
        if (!why) continue;
        // A retry of an event stored before the schema changed is a duplicate, as the docs
        // promise for every retry, not a refusal (found from outside: 422 for an event that
        // was in the log). Asked only on the way to a refusal.
        if (in.id) {
            auto stored = source_.has_event_id(in.topic, *in.id);
            if (!stored) return std::unexpected(stored.error());
            if (*stored) continue;
        }
        std::string path = "/payload" + why->pointer;
        std::string message =
            batch.size() > 1 ? "event " + std::to_string(i) + " of the batch: " : "";
        message += "the payload does not match version " + std::to_string(e->version);
        message += " of the schema of topic '" + in.topic + "' at " + path + ": ";
        message += why->message;
        error err{errc::invalid_payload, std::move(message)};
        err.path = std::move(path);
        err.schema_version = e->version;
        return std::unexpected(std::move(err));
    }
    return {};
}

}  // namespace prom::schema
