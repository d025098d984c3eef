// Reads a schema as valijson will (which subschemas apply to which value, where a "$ref"
// points), to refuse what would make it recurse without end or too deep.
#include "schema/schema_depth.hpp"

#include <algorithm>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "schema/local_ref.hpp"
#include "userproj/json_pointer.hpp"

namespace prom::schema {
namespace {

using userproj::pointer_join;

// How a subschema relates to the schema naming it.
enum class relation {
    reference,       // "$ref": the same value; valijson compiles the target where it is met
    same_value,      // allOf, anyOf, oneOf, not, if, then, else, dependencies
    member_or_item,  // properties, items, ...: a part of the value
    definition,      // "definitions": applies to nothing by itself, compiled only if named
};

// A subschema, and where it is written (the "$ref" naming it, for a reference).
struct subschema {
    const json::value* schema;
    std::string pointer;
    relation how;
    std::string ref_key;  // a reference's ref_pointer: where its target is

    // The target's own place in the document (where the pointers of its subschemas start).
    const std::string& location() const { return how == relation::reference ? ref_key : pointer; }
};

// How the subschemas under `keyword` relate to the schema; nothing for a keyword that holds
// none.
std::optional<relation> relation_of(std::string_view keyword) {
    for (std::string_view k :
         {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependencies"}) {
        if (keyword == k) return relation::same_value;
    }
    for (std::string_view k : {"items", "additionalItems", "contains", "properties",
                               "patternProperties", "additionalProperties", "propertyNames"}) {
        if (keyword == k) return relation::member_or_item;
    }
    if (keyword == "definitions") return relation::definition;
    return std::nullopt;
}

// The subschemas of the schema `node` (at `at`). With a "$ref", valijson reads nothing else
// of the schema (draft 7): the reference is its only subschema.
std::vector<subschema> subschemas_of(const json::value& root, const json::value& node,
                                     const std::string& at) {
    std::vector<subschema> out;
    if (!node.is_object()) return out;
    const auto& members = node.get_object();
    if (const auto* ref = members.if_contains("$ref"); ref && ref->is_string()) {
        std::string_view text = ref->get_string();
        // compile() has refused every "$ref" that is not local before.
        if (text.starts_with('#')) {
            auto key = ref_pointer(text);
            if (const auto* target = ref_target(root, key)) {
                out.push_back({target, pointer_join(at, "$ref"), relation::reference, key});
            }
        }
        return out;
    }
    auto add = [&out](const json::value& v, std::string pointer, relation how) {
        if (v.is_object() || v.is_bool()) out.push_back({&v, std::move(pointer), how, {}});
    };
    for (const auto& [key, member] : members) {
        auto how = relation_of(key);
        if (!how) continue;
        std::string here = pointer_join(at, key);
        // A list of schemas (allOf, items), a map of them (properties, dependencies, whose
        // lists of names are not schemas and are skipped by add) or one schema (not, items).
        bool is_map = key == "properties" || key == "patternProperties" || key == "definitions" ||
                      key == "dependencies";
        if (member.is_array() && !is_map) {
            for (std::size_t i = 0; i < member.get_array().size(); ++i) {
                add(member.get_array()[i], pointer_join(here, i), *how);
            }
        } else if (member.is_object() && is_map) {
            for (const auto& [name, schema] : member.get_object()) {
                add(schema, pointer_join(here, name), *how);
            }
        } else {
            add(member, here, *how);
        }
    }
    return out;
}

problem too_long_a_run(const std::string& at) {
    return problem{"more than " + std::to_string(longest_same_value_run) +
                       " subschemas ($ref, allOf, anyOf, oneOf, not, if, then, else, "
                       "dependencies) apply to the same value in a row",
                   at};
}

// Every schema of the document, each reached once and without recursion (a chain of "$ref"s
// can be as long as the document); from each, the longest run of subschemas applying to the
// same value (recursion at most longest_same_value_run deep, results kept per schema) and
// the depth of its tree (recursion as deep as the document's nesting).
class depth_checker {
  public:
    explicit depth_checker(const json::value& root) : root_(root) {}

    std::optional<problem> check() {
        std::vector<std::pair<const json::value*, std::string>> pending{{&root_, ""}};
        std::unordered_set<const json::value*> seen{&root_};
        long long nesting = tree_depth(root_, "");
        std::unordered_set<std::string> named;  // ref_pointers met so far
        while (!pending.empty()) {
            auto [node, at] = std::move(pending.back());
            pending.pop_back();
            if (auto p = dangling_ref(*node, at)) return p;
            if (auto run = run_from(*node, at, at, 0); !run) return run.error();
            for (auto& s : subschemas_of(root_, *node, at)) {
                if (s.how == relation::reference && named.insert(s.ref_key).second) {
                    nesting += tree_depth(*s.schema, s.location());
                    if (nesting > deepest_compile_nesting) {
                        return problem{"the references of this schema could nest more than " +
                                           std::to_string(deepest_compile_nesting) +
                                           " subschemas deep when it is compiled (a chain of "
                                           "definitions each naming the next is as deep as "
                                           "it is long)",
                                       s.pointer};
                    }
                }
                if (seen.insert(s.schema).second) pending.emplace_back(s.schema, s.location());
            }
        }
        return std::nullopt;
    }

  private:
    static constexpr int on_the_path = -1;

    // A local "$ref" of `node` that names nothing (valijson threw "failed to resolve" from
    // deep inside, and the message said neither which reference nor where).
    std::optional<problem> dangling_ref(const json::value& node, const std::string& at) const {
        if (!node.is_object()) return std::nullopt;
        const auto* ref = node.get_object().if_contains("$ref");
        if (!ref || !ref->is_string() || !ref->get_string().starts_with('#')) return std::nullopt;
        if (ref_target(root_, ref_pointer(ref->get_string()))) return std::nullopt;
        return problem{
            "$ref '" + std::string(ref->get_string()) + "' points at nothing in this schema",
            pointer_join(at, "$ref")};
    }

    // The longest run of same-value subschemas from `node` (at `at`), reached `depth` steps
    // into a run by the subschema written at `reached_by`.
    std::expected<int, problem> run_from(const json::value& node, const std::string& at,
                                         const std::string& reached_by, int depth) {
        if (auto known = runs_.find(&node); known != runs_.end()) {
            if (known->second == on_the_path) {
                return std::unexpected(problem{
                    "$ref leads back to itself without moving into a member or an item of the "
                    "value (through $ref, allOf, anyOf, oneOf, not, if, then, else or "
                    "dependencies)",
                    reached_by});
            }
            if (depth + known->second > longest_same_value_run) {
                return std::unexpected(too_long_a_run(reached_by));
            }
            return known->second;
        }
        if (depth > longest_same_value_run) return std::unexpected(too_long_a_run(reached_by));
        runs_[&node] = on_the_path;
        int longest = 0;
        for (const auto& s : subschemas_of(root_, node, at)) {
            if (s.how != relation::reference && s.how != relation::same_value) continue;
            auto run = run_from(*s.schema, s.location(), s.pointer, depth + 1);
            if (!run) return run;
            longest = std::max(longest, *run + 1);
        }
        runs_[&node] = longest;
        return longest;
    }

    // How many schemas deep valijson nests compiling `node`'s own tree: references and
    // definitions are counted where they are named (check()).
    int tree_depth(const json::value& node, const std::string& at) {
        if (auto known = depths_.find(&node); known != depths_.end()) return known->second;
        int deepest = 0;
        for (const auto& s : subschemas_of(root_, node, at)) {
            if (s.how == relation::reference || s.how == relation::definition) continue;
            deepest = std::max(deepest, tree_depth(*s.schema, s.location()));
        }
        depths_[&node] = deepest + 1;
        return deepest + 1;
    }

    const json::value& root_;
    std::unordered_map<const json::value*, int> runs_;
    std::unordered_map<const json::value*, int> depths_;
};

}  // namespace

std::optional<problem> depth_problem(const json::value& schema) {
    return depth_checker(schema).check();
}

}  // namespace prom::schema
