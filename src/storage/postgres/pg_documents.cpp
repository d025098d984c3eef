// Document reads, `find` with equality filters, declared indexes.
//
// Filters compare with the `match` column, {field: match text}, computed in C++ by
// docs::match_text when the document is written: the very function the other backends use,
// so all of them agree on what `?pid=7` matches. A declared index is an expression index
// on `match->>'field'`, partial to its collection.
#include "docs/update.hpp"
#include "storage/change_log.hpp"
#include "storage/postgres/pg_page_sql.hpp"
#include "storage/postgres/pg_schema.hpp"
#include "storage/postgres/pg_store.hpp"

namespace prom::storage::postgres {

std::string match_json(const json::object& doc) {
    json::object m;
    for (const auto& kv : doc) {
        auto t = docs::match_text(doc, kv.key());
        // jsonb cannot hold U+0000. Such a field is left out: no filter can name it (field
        // names are [A-Za-z0-9_]) or carry its value (parameters refuse NUL), so it could
        // never match anyway, and the document itself (text) keeps it.
        if (!t || kv.key().find('\0') != std::string_view::npos ||
            t->find('\0') != std::string::npos) {
            continue;
        }
        m[kv.key()] = *t;
    }
    return canonical_json(m);
}

result<std::optional<document>> pg_store::find_one(std::string_view collection,
                                                   std::string_view key) {
    std::optional<document> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query("SELECT " PROM_DOCUMENT_COLUMNS " FROM docs WHERE coll = $1 AND key = $2",
                         {collection, key});
        if (!r) return std::unexpected(r.error());
        if (!r->empty()) out = decode_document(r->row(0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<document_change>> pg_store::changes(const change_query& q) {
    std::vector<document_change> out;
    auto st = with_reader([&](connection& c) -> status {
        static const std::string sql =
            bounded_page_sql(read_changes_sql, "coalesce(octet_length(body), 0)", "seq", 4);
        auto r =
            c.query(sql, {q.collection, q.after, count_param(q.limit), count_param(q.max_bytes)});
        if (!r) return std::unexpected(r.error());
        out.clear();
        page_bytes bound(q.max_bytes, "changes of collection", q.collection);
        for (int i = 0; i < r->size(); ++i) {
            if (auto ok = bound.add(change_row_bytes(r->row(i))); !ok) return ok;
            out.push_back(decode_change(r->row(i)));
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<seq_t> pg_store::last_change(std::string_view collection) {
    seq_t out{};
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(last_change_sql, {collection});
        if (!r) return std::unexpected(r.error());
        out = r->empty() ? seq_t{} : decode_seq(r->row(0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<std::string>> pg_store::logged_collections(std::string_view prefix) {
    std::vector<std::string> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query(logged_collections_sql, {prefix});
        if (!r) return std::unexpected(r.error());
        out.clear();
        for (int i = 0; i < r->size(); ++i) out.emplace_back(r->text(i, 0));
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

result<std::vector<document>> pg_store::find(const find_query& q) {
    if (!docs::valid_collection_name(q.collection)) {
        return fail(errc::invalid_argument, "bad collection name '" + q.collection + "'");
    }
    // Names are validated to [A-Za-z0-9_.-], so they can be SQL literals: the planner then
    // matches the partial expression indexes of declare_index. Values are always parameters.
    std::string sql =
        "SELECT " PROM_DOCUMENT_COLUMNS " FROM docs WHERE coll = '" + q.collection + "'";
    std::vector<param> ps;
    for (auto& [field, value] : q.equals) {
        if (!docs::valid_field_name(field)) {
            return fail(errc::invalid_argument, "bad field name '" + field + "'");
        }
        ps.emplace_back(value);
        sql += " AND match->>'" + field + "' = $" + std::to_string(ps.size());
    }
    ps.emplace_back(count_param(q.limit));
    ps.emplace_back(count_param(q.offset));
    sql += " ORDER BY ts DESC, key LIMIT $" + std::to_string(ps.size() - 1) + " OFFSET $" +
           std::to_string(ps.size());
    ps.emplace_back(count_param(q.max_bytes));
    sql = bounded_page_sql(sql, "octet_length(body)", "ts DESC, key", ps.size());
    std::vector<document> out;
    auto st = with_reader([&](connection& c) -> status {
        auto r = c.query_once(sql, ps);
        if (!r) return std::unexpected(r.error());
        out.clear();
        page_bytes bound(q.max_bytes, "documents of collection", q.collection);
        for (int i = 0; i < r->size(); ++i) {
            if (auto ok = bound.add(document_row_bytes(r->row(i))); !ok) return ok;
            out.push_back(decode_document(r->row(i)));
        }
        return {};
    });
    if (!st) return std::unexpected(st.error());
    return out;
}

namespace {
// Index names must fit in 63 bytes, collection names may take 128: name them by a hash.
std::string index_name(std::string_view collection, std::string_view field) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    auto mix = [&](std::string_view s) {
        for (unsigned char ch : s) {
            h ^= ch;
            h *= 1099511628211ull;
        }
    };
    mix(collection);
    mix("\x1f");
    mix(field);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return std::string("docs_f_") + hex;
}
}  // namespace

status pg_store::declare_index(std::string_view collection, std::string_view field) {
    if (!docs::valid_collection_name(collection) || !docs::valid_field_name(field)) {
        return fail(errc::invalid_argument, "bad collection or field name for an index");
    }
    std::string c(collection), f(field);
    const std::string name = index_name(c, f);
    // Already there: nothing to do, and nothing that needs more than read/write rights
    // (CREATE INDEX checks table ownership even with IF NOT EXISTS).
    bool exists = false;
    auto probe = with_reader([&](connection& conn) -> status {
        auto r = conn.query("SELECT to_regclass($1) IS NOT NULL",
                            {quote_ident(target_.schema) + "." + name});
        if (!r) return std::unexpected(r.error());
        exists = r->text(0, 0) == "t";
        return {};
    });
    if (!probe) return probe;
    if (exists) return {};
    // Under the schema lock: two nodes declaring the same index at once would otherwise
    // race inside CREATE INDEX IF NOT EXISTS.
    std::string sql = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(schema_lock_key) +
                      "); CREATE INDEX IF NOT EXISTS " + name + " ON docs ((match->>'" + f +
                      "'), ts DESC, key) WHERE coll = '" + c + "'; COMMIT";
    return with_reader([&](connection& conn) -> status {
        if (auto r = conn.exec(sql); !r) {
            (void)conn.exec("ROLLBACK");
            return std::unexpected(r.error());
        }
        return {};
    });
}

}  // namespace prom::storage::postgres
