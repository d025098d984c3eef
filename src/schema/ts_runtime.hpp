// validate.ts, the runtime validator `prom gen ts` writes beside the generated types
// (docs/schemas.md, "TypeScript"): a JSON Schema draft-7 interpreter in TypeScript, so that
// a client can refuse a bad payload before it goes out. The server's check (valijson)
// stays the authority.
#pragma once

#include <string_view>

namespace prom::schema {

extern const std::string_view ts_validate_module;

}  // namespace prom::schema
