#include "records.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <vector>

#include "keys.h"
#include "ledger/event.h"

namespace ledger::records {

std::string EncodeHead(const StreamHead& head) {
  std::string v;
  keys::PutBE64(&v, head.version);
  keys::PutBE64(&v, head.position);
  v.append(AsBytes(head.hash));
  return v;
}

Status DecodeHead(std::string_view value, StreamHead* head) {
  if (value.size() != 48) return Status::Corruption("bad stream head record");
  head->version = keys::GetBE64(value.data());
  head->position = keys::GetBE64(value.data() + 8);
  std::memcpy(head->hash.data(), value.data() + 16, 32);
  return Status::OK();
}

std::string EncodeCommand(const Digest& request_hash, const AppendResult& result) {
  std::string v(AsBytes(request_hash));
  keys::PutBE64(&v, result.version);
  keys::PutBE64(&v, result.position);
  keys::PutBE64(&v, static_cast<uint64_t>(result.recorded_at));
  keys::PutBE64(&v, result.events.size());
  for (const AppendedEvent& e : result.events) {
    PayloadKind kind{};
    const uint16_t k = EventKindFromName(e.type, &kind) ? static_cast<uint16_t>(kind) : 0;
    v.push_back(static_cast<char>(k >> 8));
    v.push_back(static_cast<char>(k & 0xff));
  }
  return v;
}

Status DecodeCommand(std::string_view value, Digest* request_hash, AppendResult* result) {
  if (value.size() < 64) return Status::Corruption("bad command record");
  std::memcpy(request_hash->data(), value.data(), 32);
  result->version = keys::GetBE64(value.data() + 32);
  result->position = keys::GetBE64(value.data() + 40);
  result->recorded_at = static_cast<Micros>(keys::GetBE64(value.data() + 48));
  const uint64_t count = keys::GetBE64(value.data() + 56);
  if (value.size() != 64 + 2 * count || count > result->version || count > result->position) {
    return Status::Corruption("bad command record length");
  }
  result->events.clear();
  for (uint64_t i = 0; i < count; ++i) {
    const auto* p = reinterpret_cast<const uint8_t*>(value.data() + 64 + 2 * i);
    const auto kind = static_cast<PayloadKind>((p[0] << 8) | p[1]);
    AppendedEvent e;
    e.position = result->position - count + 1 + i;
    e.version = result->version - count + 1 + i;
    e.type = std::string(EventTypeName(kind));
    result->events.push_back(std::move(e));
  }
  return Status::OK();
}

std::string EncodeRejection(const RejectionRecord& record) {
  capnp::MallocMessageBuilder message(64);
  auto r = message.initRoot<schema::Rejection>();
  r.setTenant(record.tenant);
  r.setCommandId(record.command_id);
  r.setCommandType(record.command_type);
  r.setActor(record.actor);
  r.setCode(record.code);
  r.setMessage(record.message);
  r.setAt(record.at);
  r.setCommand(record.command_json);
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  const auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Status DecodeRejection(std::string_view value, RejectionRecord* record) {
  if (value.size() % sizeof(capnp::word) != 0) return Status::Corruption("bad rejection");
  std::vector<capnp::word> words(value.size() / sizeof(capnp::word));
  std::memcpy(words.data(), value.data(), value.size());
  try {
    capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), words.size()));
    auto r = reader.getRoot<schema::Rejection>();
    record->tenant = r.getTenant();
    record->command_id = r.getCommandId();
    record->command_type = r.getCommandType();
    record->actor = r.getActor();
    record->code = r.getCode();
    record->message = r.getMessage();
    record->at = r.getAt();
    record->command_json = r.getCommand();
  } catch (const kj::Exception& e) {
    return Status::Corruption(std::string("bad rejection: ") + e.getDescription().cStr());
  }
  return Status::OK();
}

}  // namespace ledger::records
