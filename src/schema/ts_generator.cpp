#include "schema/ts_generator.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "schema/local_ref.hpp"
#include "schema/ts_runtime.hpp"

namespace prom::schema {

namespace {

// A schema's `$ref`s are written out where they are used (a type alias per definition would
// need names that stay stable as schemas change). Definitions that each use the next twice
// double the text at every step (a 2 KB schema made 257 MB, found from outside): past this
// many expansions for one topic, a `$ref` is typed `unknown` (docs/schemas.md).
constexpr std::size_t max_ref_expansions = 2000;

struct emitter {
    const json::value& root;
    std::set<std::string> resolving;  // $refs being expanded: a cycle becomes `unknown`
    std::size_t expansions = 0;

    std::string type(const json::value& s, int indent);
    std::string object_type(const json::object& s, int indent);
    std::string array_type(const json::object& s, int indent);
};

std::string pad(int indent) { return std::string(static_cast<std::size_t>(indent) * 4, ' '); }

bool identifier(std::string_view name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '$') return false;
    }
    return true;
}

std::string property_name(std::string_view name) {
    return identifier(name) ? std::string(name) : canonical_json(json::value(json::string(name)));
}

std::string literal(const json::value& v) {
    if (v.is_string() || v.is_bool() || v.is_null() || v.is_number()) return canonical_json(v);
    return "unknown";
}

std::string doc_comment(const json::object& s, int indent, std::string text = {}) {
    for (std::string_view k : {"title", "description"}) {
        if (const auto* v = s.if_contains(k); v && v->is_string()) {
            if (!text.empty()) text += " ";
            text += v->get_string();
        }
    }
    if (text.empty()) return "";
    std::string safe;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '*' && i + 1 < text.size() && text[i + 1] == '/') {
            safe += "*\\/";
            ++i;
        } else if (text[i] == '\n') {
            safe += ' ';
        } else {
            safe += text[i];
        }
    }
    return pad(indent) + "/** " + safe + " */\n";
}

// `v` as a JavaScript literal: its JSON, but a member named `__proto__` is written as a
// computed key, which makes an own member (a plain `"__proto__":` would set the prototype).
void append_js_literal(std::string& out, const json::value& v) {
    if (v.is_array()) {
        out += '[';
        bool first = true;
        for (const auto& x : v.get_array()) {
            if (!first) out += ',';
            first = false;
            append_js_literal(out, x);
        }
        out += ']';
        return;
    }
    if (!v.is_object()) {
        append_canonical_json(out, v);
        return;
    }
    std::vector<const json::key_value_pair*> members;
    for (const auto& kv : v.get_object()) members.push_back(&kv);
    std::ranges::sort(members, [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        const bool proto = members[i]->key() == "__proto__";
        if (proto) out += '[';
        append_json_string(out, members[i]->key());
        if (proto) out += ']';
        out += ':';
        append_js_literal(out, members[i]->value());
    }
    out += '}';
}

std::string js_literal(const json::value& v) {
    std::string out;
    append_js_literal(out, v);
    return out;
}

// The members of Object.prototype that TypeScript's `Object` interface declares.
bool inherited_member(std::string_view name) {
    static constexpr std::string_view members[] = {
        "constructor",    "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
        "toLocaleString", "toString",       "valueOf"};
    return std::ranges::find(members, name) != std::end(members);
}

// Whether `v` is of one of the JSON Schema types `declared` names (a name or a list of them).
bool has_declared_type(const json::value& v, const json::value& declared) {
    auto is = [&](std::string_view t) {
        if (t == "string") return v.is_string();
        if (t == "boolean") return v.is_bool();
        if (t == "null") return v.is_null();
        if (t == "object") return v.is_object();
        if (t == "array") return v.is_array();
        if (t == "number") return v.is_number();
        if (t == "integer") {
            if (v.is_int64() || v.is_uint64()) return true;
            return v.is_double() && std::trunc(v.get_double()) == v.get_double();
        }
        return true;  // a name the metaschema refuses: keep the value rather than guess
    };
    if (declared.is_string()) return is(declared.get_string());
    if (!declared.is_array()) return true;
    return std::ranges::any_of(declared.get_array(), [&](const json::value& t) {
        return t.is_string() && is(t.get_string());
    });
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

std::string emitter::object_type(const json::object& s, int indent) {
    std::set<std::string, std::less<>> required;
    if (const auto* r = s.if_contains("required"); r && r->is_array()) {
        for (const auto& x : r->get_array()) {
            if (x.is_string()) required.emplace(x.get_string());
        }
    }
    std::string out = "{\n";
    if (const auto* p = s.if_contains("properties"); p && p->is_object()) {
        for (const auto& [name, sub] : p->get_object()) {
            if (sub.is_object()) out += doc_comment(sub.get_object(), indent + 1);
            const bool optional = !required.contains(name);
            std::string t = type(sub, indent + 1);
            // An optional property named like a member of Object.prototype reads as that
            // member when absent, and TypeScript checks an object literal against it: `{}`
            // did not compile against `toString?: string` (found from outside).
            if (optional && inherited_member(name)) {
                t.insert(0, "(");
                t += ") | Object[";
                t += js_literal(json::value(name));
                t += ']';
            }
            out += pad(indent + 1) + property_name(name) + (optional ? "?" : "") + ": " + t + ";\n";
        }
    }
    // Required names without a declared property still must be there.
    const auto* p = s.if_contains("properties");
    for (const auto& name : required) {
        if (p && p->is_object() && p->get_object().contains(name)) continue;
        out += pad(indent + 1) + property_name(name) + ": unknown;\n";
    }
    const auto* add = s.if_contains("additionalProperties");
    bool open = add && !(add->is_bool() && !add->get_bool());
    // An object that declares no property takes any members: `{}` would also take a string
    // or a number, which the server refuses (found from outside).
    const bool declares_none = out == "{\n";
    if (open || s.contains("patternProperties") || (declares_none && !add)) {
        out += pad(indent + 1) + "[key: string]: unknown;\n";
    } else if (declares_none) {
        out += pad(indent + 1) + "[key: string]: never;\n";  // additionalProperties false: {}
    }
    out += pad(indent) + "}";
    return out;
}

std::string emitter::array_type(const json::object& s, int indent) {
    const auto* items = s.if_contains("items");
    if (!items) return "unknown[]";
    if (items->is_array()) {
        std::vector<std::string> parts;
        // Draft 7's listed items are each optional: ["x"] and [] pass [{string},{number}].
        for (const auto& x : items->get_array()) parts.push_back("(" + type(x, indent) + ")?");
        const auto* more = s.if_contains("additionalItems");
        if (!(more && more->is_bool() && !more->get_bool())) parts.push_back("...unknown[]");
        return "[" + join(parts, ", ") + "]";
    }
    return "Array<" + type(*items, indent) + ">";
}

std::string emitter::type(const json::value& v, int indent) {
    if (v.is_bool()) return v.get_bool() ? "unknown" : "never";
    if (!v.is_object()) return "unknown";
    const auto& s = v.get_object();
    if (const auto* ref = s.if_contains("$ref"); ref && ref->is_string()) {
        std::string r(ref->get_string());
        const json::value* target = resolve_local_ref(root, r);
        if (!target || resolving.contains(r) || expansions >= max_ref_expansions) {
            return "unknown";
        }
        ++expansions;
        resolving.insert(r);
        auto out = type(*target, indent);
        resolving.erase(r);
        return out;
    }
    if (const auto* c = s.if_contains("const")) return literal(*c);
    std::vector<std::string> parts;  // intersected
    if (const auto* e = s.if_contains("enum"); e && e->is_array()) {
        // With "type" beside it, a value of another type never passes the server's check
        // (found from outside: {"type":"string","enum":["a",1]} was typed "a" | 1).
        const json::value* declared = s.if_contains("type");
        std::vector<std::string> values;
        for (const auto& x : e->get_array()) {
            if (!declared || has_declared_type(x, *declared)) values.push_back(literal(x));
        }
        parts.push_back(values.empty() ? "never" : "(" + join(values, " | ") + ")");
    } else {
        std::vector<std::string> types;
        if (const auto* t = s.if_contains("type")) {
            if (t->is_string()) types.emplace_back(t->get_string());
            if (t->is_array()) {
                for (const auto& x : t->get_array()) {
                    if (x.is_string()) types.emplace_back(x.get_string());
                }
            }
        } else if (s.contains("properties") || s.contains("required") ||
                   s.contains("additionalProperties") || s.contains("items")) {
            // Without "type", object keywords constrain objects only and array keywords
            // arrays only: every other value passes the server's check, so the type must
            // take it too (it took objects only: a string the server accepted did not
            // compile).
            const bool object = !s.contains("items") || s.contains("properties") ||
                                s.contains("required") || s.contains("additionalProperties");
            types = {"string", "number", "boolean", "null"};
            types.emplace_back(object ? "object" : "array");
            if (object && s.contains("items")) types.emplace_back("array");
            if (!object || !s.contains("items")) {
                types.emplace_back(object ? "any_array" : "any_object");
            }
        }
        std::vector<std::string> alternatives;
        bool number_done = false;
        for (const auto& t : types) {
            if (t == "string") alternatives.emplace_back("string");
            if ((t == "number" || t == "integer") && !number_done) {
                alternatives.emplace_back("number");
                number_done = true;
            }
            if (t == "boolean") alternatives.emplace_back("boolean");
            if (t == "null") alternatives.emplace_back("null");
            if (t == "array") alternatives.push_back(array_type(s, indent));
            if (t == "object") alternatives.push_back(object_type(s, indent));
            if (t == "any_array") alternatives.emplace_back("unknown[]");
            if (t == "any_object") alternatives.emplace_back("{ [key: string]: unknown }");
        }
        if (!alternatives.empty()) {
            parts.push_back(alternatives.size() == 1 ? alternatives[0]
                                                     : "(" + join(alternatives, " | ") + ")");
        }
    }
    for (std::string_view k : {"anyOf", "oneOf"}) {
        if (const auto* a = s.if_contains(k); a && a->is_array()) {
            std::vector<std::string> alts;
            for (const auto& x : a->get_array()) alts.push_back(type(x, indent));
            if (!alts.empty()) parts.push_back("(" + join(alts, " | ") + ")");
        }
    }
    if (const auto* a = s.if_contains("allOf"); a && a->is_array()) {
        for (const auto& x : a->get_array()) {
            auto t = type(x, indent);
            if (t != "unknown") parts.push_back(t);
        }
    }
    if (parts.empty()) return "unknown";
    return join(parts, " & ");
}

// "heartbeat.received" -> "HeartbeatReceived"; unique among `taken`.
std::string type_name(std::string_view topic, std::set<std::string>& taken) {
    std::string out;
    bool upper = true;
    for (char c : topic) {
        if (!std::isalnum(static_cast<unsigned char>(c))) {
            upper = true;
            continue;
        }
        out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        upper = false;
    }
    if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "Topic" + out;
    // Names the generated module itself exports, and the standard library's types and globals
    // (a topic `array` exported as `Array` would hide the generic the module itself uses).
    static const std::set<std::string> reserved{
        "TopicPayloads", "TopicName",  "PublishFields", "Publisher",   "PayloadError",
        "TypedTopic",    "WithTopics", "Violation",     "Array",       "ReadonlyArray",
        "Record",        "Promise",    "PromiseLike",   "Parameters",  "ReturnType",
        "Partial",       "Required",   "Readonly",      "Pick",        "Omit",
        "Exclude",       "Extract",    "NonNullable",   "Awaited",     "InstanceType",
        "Object",        "String",     "Number",        "Boolean",     "Symbol",
        "BigInt",        "Function",   "Date",          "Error",       "RegExp",
        "Map",           "Set",        "WeakMap",       "WeakSet",     "JSON",
        "Math",          "Uppercase",  "Lowercase",     "Capitalize",  "Uncapitalize",
        "Iterable",      "Iterator",   "ArrayLike",     "PropertyKey", "ThisType"};
    std::string name = reserved.contains(out) ? out + "Payload" : out;
    for (int n = 2; taken.contains(name); ++n) name = out + std::to_string(n);
    taken.insert(name);
    return name;
}

constexpr std::string_view topics_tail = R"TS(
/** Fields of an event besides its topic and payload (docs/http-api.md). */
export interface PublishFields {
    key?: string;
    id?: string;
    ts?: number;
    headers?: Record<string, string>;
}

/** Anything with this publish method: the @prom/client PromClient (clients/ts), or your own. */
export interface Publisher {
    publish(event: { topic: string; payload: any } & PublishFields, options?: any): Promise<any>;
}

/** A payload refused before it was sent: the same path and version the server would answer. */
export class PayloadError extends Error {
    readonly topic: string;
    readonly path: string;
    readonly schemaVersion: number;
    constructor(topic: string, violation: Violation, schemaVersion: number) {
        super(`the payload does not match version ${schemaVersion} of the schema of topic ` +
            `'${topic}' at ${violation.path}: ${violation.message}`);
        this.name = 'PayloadError';
        this.topic = topic;
        this.path = violation.path;
        this.schemaVersion = schemaVersion;
    }
}

/** The first violation of `payload` against `topic`'s schema (paths from "/payload"), or null. */
export function validatePayload<T extends TopicName>(topic: T, payload: unknown): Violation | null {
    return firstViolation(topicSchemas[topic].schema, payload, '/payload');
}

export interface TypedTopic<T extends TopicName, C extends Publisher> {
    readonly name: T;
    /** Checks the payload (PayloadError, nothing sent), then publishes it with `fields`. */
    publish(payload: TopicPayloads[T], fields?: PublishFields,
            options?: Parameters<C['publish']>[1]): ReturnType<C['publish']>;
    check(payload: unknown): Violation | null;
    is(payload: unknown): payload is TopicPayloads[T];
}

export type WithTopics<C extends Publisher> = C & {
    topic<T extends TopicName>(name: T): TypedTopic<T, C>;
};

/** Adds `topic(name)` to `client` (the same object, returned typed). */
export function withTopics<C extends Publisher>(client: C): WithTopics<C> {
    const typed = client as WithTopics<C>;
    typed.topic = <T extends TopicName>(name: T): TypedTopic<T, C> => ({
        name,
        check: (payload: unknown) => validatePayload(name, payload),
        is: (payload: unknown): payload is TopicPayloads[T] => validatePayload(name, payload) === null,
        publish: (payload: TopicPayloads[T], fields?: PublishFields,
                  options?: Parameters<C['publish']>[1]): ReturnType<C['publish']> => {
            const bad = validatePayload(name, payload);
            if (bad) {
                return Promise.reject(
                    new PayloadError(name, bad, topicSchemas[name].version)) as ReturnType<C['publish']>;
            }
            return client.publish({ ...fields, topic: name, payload }, options) as ReturnType<C['publish']>;
        },
    });
    return typed;
}
)TS";

}  // namespace

std::string ts_type_of(const json::value& schema, const json::value& root) {
    emitter e{root, {}};
    return e.type(schema, 0);
}

std::vector<ts_file> generate_typescript(const std::vector<ts_topic>& topics) {
    std::string out =
        "// Generated by `prom gen ts` from the topics' JSON Schemas (docs/schemas.md): do not "
        "edit.\n"
        "import { firstViolation, type Violation } from './validate.js';\n"
        "export type { Violation } from './validate.js';\n\n";
    std::set<std::string> taken;
    std::vector<std::string> names;
    for (const auto& t : topics) {
        names.push_back(type_name(t.topic, taken));
        std::string about = "Payload of topic " + t.topic + ", schema " +
                            (t.version ? "version " + std::to_string(t.version)
                                       : std::string("built into prom (not stored)"));
        out += t.schema.is_object() ? doc_comment(t.schema.get_object(), 0, about + ".")
                                    : "/** " + about + ". */\n";
        out += "export type " + names.back() + " = " + ts_type_of(t.schema, t.schema) + ";\n\n";
    }
    out += "/** Topic name -> payload type. */\nexport interface TopicPayloads {\n";
    for (std::size_t i = 0; i < topics.size(); ++i) {
        out += "    " + canonical_json(json::value(json::string(topics[i].topic))) + ": " +
               names[i] + ";\n";
    }
    out += "}\n\nexport type TopicName = keyof TopicPayloads;\n\n";
    out +=
        "/** The schemas the types were made from (version 0: built in, not stored). */\n"
        "export const topicSchemas: { [T in TopicName]: { version: number; schema: unknown } } = "
        "{\n";
    for (const auto& t : topics) {
        const std::string key = canonical_json(json::value(json::string(t.topic)));
        out += "    " + (t.topic == "__proto__" ? "[" + key + "]" : key) +
               ": { version: " + std::to_string(t.version) + ", schema: " + js_literal(t.schema) +
               " },\n";
    }
    out += "};\n";
    out += topics_tail;
    return {{"topics.ts", std::move(out)}, {"validate.ts", std::string(ts_validate_module)}};
}

}  // namespace prom::schema
