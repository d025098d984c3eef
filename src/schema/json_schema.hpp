// A compiled JSON Schema (draft 7) and the payload check made with it, by valijson
// (Debian's libvalijson-dev, through its Boost.JSON adapter): prom writes no validator
// of its own. docs/schemas.md says what a schema may contain.
//
// valijson's headers are heavy and throw; they stay inside json_schema.cpp, and nothing
// thrown crosses this header. A compiled_schema is immutable once made and may be used by
// any number of threads at once.
#pragma once

#include <expected>
#include <memory>
#include <optional>
#include <string>

#include "prom/json.hpp"

namespace prom::schema {

// Why a schema (or a payload) was refused: a message and a JSON Pointer (RFC 6901) to
// the place, within the schema (or the payload).
struct problem {
    std::string message;
    std::string pointer;
};

class compiled_schema {
  public:
    ~compiled_schema();
    compiled_schema(const compiled_schema&) = delete;
    compiled_schema& operator=(const compiled_schema&) = delete;

    // Checks `schema` against the draft-7 meta-schema, refuses a `$ref` to anything but
    // this document ("#…": no network, no files) and a `$schema` other than draft 7, then
    // compiles it.
    static std::expected<std::shared_ptr<const compiled_schema>, problem> compile(
        const json::value& schema);

    // The first violation of `payload` (pointer within the payload, "" for the whole of
    // it), or nothing when it is valid. Thread-safe.
    std::optional<problem> first_violation(const json::value& payload) const;

  private:
    struct impl;
    explicit compiled_schema(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace prom::schema
