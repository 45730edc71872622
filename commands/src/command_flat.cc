// The flat command reader: most commands are one JSON object of strings, numbers and
// booleans. simdjson reads those several times faster than building a nlohmann document
// (whose lexer was a third of a command's client-side CPU in ledger-bench commands);
// anything else is left to the document path in command_json.cc. Both share one
// validation (ReadMembers), and a differential test and fuzz target hold them equal.
#include <simdjson.h>

#include <algorithm>
#include <charconv>

#include "command_members.h"

namespace commands::internal {
namespace {

// Bigger commands (imports) are not flat anyway.
constexpr size_t kFlatMaxBytes = 16 * 1024;

// A flat object's text has no escapes and no control characters: its strings are then
// the bytes between their quotes, and the canonical form can copy them as they are
// (nlohmann's dump() escapes only '"', '\' and control characters).
bool PlainText(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == '\\'; });
}

// Reads the members of a flat object; false when `text` is anything else. The DOM parser
// runs in the library, which picks the machine's SIMD code at run time (simdjson's
// on-demand front end would be compiled here for the build machine's instruction set).
bool ReadFlatObject(std::string_view text, Members* members) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string padded;  // simdjson reads a little past the end
  if (padded.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  padded.assign(text);
  simdjson::dom::element root;
  if (parser.parse(padded.data(), padded.size(), /*realloc_if_needed=*/false).get(root)) {
    return false;
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return false;
  for (const simdjson::dom::key_value_pair field : object) {
    FieldValue v;
    switch (field.value.type()) {
      case simdjson::dom::element_type::STRING:
        v.scalar = FieldValue::Scalar::kString;
        v.text = field.value.get_string().value_unsafe();
        break;
      case simdjson::dom::element_type::BOOL:
        v.scalar = FieldValue::Scalar::kBool;
        v.flag = field.value.get_bool().value_unsafe();
        break;
      case simdjson::dom::element_type::INT64: {
        // Negative numbers, fractions and exponents go to the document path.
        const int64_t n = field.value.get_int64().value_unsafe();
        if (n < 0) return false;
        v.scalar = FieldValue::Scalar::kUnsigned;
        v.number = static_cast<uint64_t>(n);
        break;
      }
      case simdjson::dom::element_type::UINT64:
        v.scalar = FieldValue::Scalar::kUnsigned;
        v.number = field.value.get_uint64().value_unsafe();
        break;
      default:
        return false;  // null, fractional numbers, arrays and objects
    }
    members->emplace_back(field.key, v);
  }
  std::sort(members->begin(), members->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // A repeated key: the document keeps the last value; leave that to it.
  return std::adjacent_find(members->begin(), members->end(), [](const auto& a, const auto& b) {
           return a.first == b.first;
         }) == members->end();
}

}  // namespace

bool ParseFlatCommand(std::string_view text, Command* c, BadRequest* err, bool* flat) {
  Members members;
  *flat = text.size() <= kFlatMaxBytes && PlainText(text) && ReadFlatObject(text, &members);
  if (!*flat) return false;
  if (!ReadMembers(members, c, err)) return false;
  // The canonical form: sorted keys, no id, dump()'s formatting.
  std::string& canonical = c->canonical_json;
  canonical.reserve(text.size());
  canonical.push_back('{');
  for (const auto& [key, value] : members) {
    if (key == "id") continue;
    if (canonical.size() > 1) canonical.push_back(',');
    canonical.push_back('"');
    canonical.append(key);
    canonical.append("\":");
    switch (value.scalar) {
      case FieldValue::Scalar::kString:
        canonical.push_back('"');
        canonical.append(value.text);
        canonical.push_back('"');
        break;
      case FieldValue::Scalar::kBool:
        canonical.append(value.flag ? "true" : "false");
        break;
      case FieldValue::Scalar::kUnsigned: {
        char digits[24];
        const auto end = std::to_chars(std::begin(digits), std::end(digits), value.number).ptr;
        canonical.append(digits, end);
        break;
      }
    }
  }
  canonical.push_back('}');
  return true;
}

}  // namespace commands::internal
