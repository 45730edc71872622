#include "replay/event_json.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>

#include <string>

namespace replay {
namespace {

using capnp::schema::Type;

// "ownerEmail" → "owner_email".
std::string SnakeCase(kj::StringPtr camel) {
  return ledger::SnakeCase(std::string_view(camel.cStr(), camel.size()));
}

std::string Hex(capnp::Data::Reader data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::string Text(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// An enumerant as snake_case text; its number if this build does not know it.
nlohmann::json EnumJson(capnp::DynamicEnum value) {
  KJ_IF_MAYBE (enumerant, value.getEnumerant()) {
    return SnakeCase(enumerant->getProto().getName());
  }
  return value.getRaw();
}

nlohmann::json StructJson(capnp::DynamicStruct::Reader s);

// One value of schema type `type`. Every Int64 is a time; in payloads a time of 0 means
// "none" (trialEnd of a subscription that is not a trial) and is null.
nlohmann::json ValueJson(capnp::DynamicValue::Reader value, capnp::Type type) {
  switch (type.which()) {
    case Type::BOOL:
      return value.as<bool>();
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
      return value.as<int64_t>();
    case Type::INT64: {
      const auto t = value.as<int64_t>();
      return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(ledger::FormatRfc3339(t));
    }
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
      return value.as<uint64_t>();
    case Type::FLOAT32:
    case Type::FLOAT64:
      return value.as<double>();
    case Type::TEXT:
      return Text(value.as<capnp::Text>());
    case Type::DATA:
      return Hex(value.as<capnp::Data>());
    case Type::LIST: {
      auto out = nlohmann::json::array();
      const capnp::Type element = type.asList().getElementType();
      for (auto item : value.as<capnp::DynamicList>()) out.push_back(ValueJson(item, element));
      return out;
    }
    case Type::ENUM:
      return EnumJson(value.as<capnp::DynamicEnum>());
    case Type::STRUCT:
      return StructJson(value.as<capnp::DynamicStruct>());
    default:  // Void, interfaces, AnyPointer: nothing an auditor can read
      return nullptr;
  }
}

// Every field of `s`: the fields outside its union, and the active union member if any.
nlohmann::json StructJson(capnp::DynamicStruct::Reader s) {
  auto out = nlohmann::json::object();
  for (auto field : s.getSchema().getNonUnionFields()) {
    out[SnakeCase(field.getProto().getName())] = ValueJson(s.get(field), field.getType());
  }
  KJ_IF_MAYBE (field, s.which()) {
    out[SnakeCase(field->getProto().getName())] = ValueJson(s.get(*field), field->getType());
  }
  return out;
}

}  // namespace

nlohmann::json PayloadJson(ledger::schema::Event::Reader event) {
  const capnp::DynamicStruct::Reader payload = capnp::toDynamic(event.getPayload());
  KJ_IF_MAYBE (field, payload.which()) {
    if (field->getType().isStruct()) {
      return StructJson(payload.get(*field).as<capnp::DynamicStruct>());
    }
  }
  return nlohmann::json::object();  // `unknown`, or a variant this build does not know
}

nlohmann::json EventJson(ledger::schema::Event::Reader event) {
  const uint64_t causation = event.getCausation();
  return {
      {"position", event.getPosition()},
      {"tenant", Text(event.getTenant())},
      {"version", event.getVersion()},
      {"type", std::string(ledger::EventTypeName(event.getPayload().which()))},
      {"event_id", Text(event.getEventId())},
      {"command_id", Text(event.getCommandId())},
      {"caused_by", causation == 0 ? nlohmann::json(nullptr) : nlohmann::json(causation)},
      {"actor", Text(event.getActor())},
      {"recorded_at", ledger::FormatRfc3339(event.getRecordedAt())},
      {"effective_at", ledger::FormatRfc3339(event.getEffectiveAt())},
      {"reason", event.getReason().size() == 0 ? nlohmann::json(nullptr)
                                               : nlohmann::json(Text(event.getReason()))},
      {"schema_version", event.getSchemaVersion()},
      {"prev_hash", Hex(event.getPrevHash())},
      {"hash", Hex(event.getHash())},
      {"payload", PayloadJson(event)},
  };
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace replay
