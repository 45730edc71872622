#include "ledger/event.h"

#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <array>
#include <cstring>
#include <optional>

namespace ledger {
namespace {

constexpr size_t kMaxKinds = 256;

// Payload variant names, indexed by discriminant, read from the compiled-in schema.
const std::array<std::string, kMaxKinds>& KindNames() {
  static const std::array<std::string, kMaxKinds> names = [] {
    std::array<std::string, kMaxKinds> table;
    table.fill("unknown");
    const capnp::StructSchema payload =
        capnp::Schema::from<schema::Event>().getFieldByName("payload").getType().asStruct();
    for (const auto& field : payload.getUnionFields()) {
      const uint16_t d = field.getProto().getDiscriminantValue();
      if (d < kMaxKinds) table[d] = SnakeCase(std::string_view(field.getProto().getName().cStr()));
    }
    return table;
  }();
  return names;
}

// Byte offset of the hash data inside `bytes`, or nullopt if it is not 32 bytes there.
std::optional<size_t> HashOffset(schema::Event::Reader event, const void* base, size_t size) {
  if (!event.hasHash()) return std::nullopt;
  const capnp::Data::Reader hash = event.getHash();
  const auto* begin = reinterpret_cast<const uint8_t*>(base);
  if (hash.size() != 32 || hash.begin() < begin || hash.end() > begin + size) {
    return std::nullopt;
  }
  return static_cast<size_t>(hash.begin() - begin);
}

}  // namespace

std::string SnakeCase(std::string_view camel) {
  std::string out;
  out.reserve(camel.size() + 4);
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

capnp::ReaderOptions StoredReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 8u << 20;  // 64 MiB: far above any event
  options.nestingLimit = 16;
  return options;
}

std::string_view EventTypeName(PayloadKind kind) {
  const auto d = static_cast<size_t>(kind);
  return d < kMaxKinds ? std::string_view(KindNames()[d]) : std::string_view("unknown");
}

bool EventKindFromName(std::string_view name, PayloadKind* kind) {
  const auto& names = KindNames();
  for (size_t d = 0; d < kMaxKinds; ++d) {
    if (names[d] == name && name != "unknown") {
      *kind = static_cast<PayloadKind>(d);
      return true;
    }
  }
  return false;
}

EventDraft::EventDraft() : message_(std::make_unique<capnp::MallocMessageBuilder>(128)) {
  message_->initRoot<schema::Event>();
}

schema::Event::Payload::Builder EventDraft::payload() { return root().getPayload(); }

schema::Event::Reader EventDraft::reader() const {
  return message_->getRoot<schema::Event>().asReader();
}

schema::Event::Builder EventDraft::root() { return message_->getRoot<schema::Event>(); }

size_t EventDraft::AllocatedBytes() const { return message_->sizeInWords() * sizeof(capnp::word); }

struct StoredEvent::State {
  // The bytes as aligned words; reused (grown only) across Parse calls. capnp::word
  // cannot be copied, so no std::vector (clang's library checks rejected it).
  std::unique_ptr<capnp::word[]> words;
  size_t capacity = 0;
  kj::ArrayPtr<const capnp::word> segments[1];
  std::optional<capnp::SegmentArrayMessageReader> reader;
};

StoredEvent::StoredEvent() = default;
StoredEvent::~StoredEvent() = default;
StoredEvent::StoredEvent(StoredEvent&&) noexcept = default;
StoredEvent& StoredEvent::operator=(StoredEvent&&) noexcept = default;

Status StoredEvent::Parse(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) {
    return Status::Corruption("event bytes are not whole Cap'n Proto words");
  }
  if (!state_) state_ = std::make_unique<State>();
  State& s = *state_;
  s.reader.reset();
  const size_t count = bytes.size() / sizeof(capnp::word);
  if (s.capacity < count) {
    s.words.reset(new capnp::word[count]);
    s.capacity = count;
  }
  std::memcpy(s.words.get(), bytes.data(), bytes.size());
  size_ = bytes.size();
  s.segments[0] = kj::ArrayPtr<const capnp::word>(s.words.get(), count);
  try {
    s.reader.emplace(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(s.segments, 1),
                     StoredReaderOptions());
    root_ = s.reader->getRoot<schema::Event>();
    // Touch the envelope so that a malformed root pointer is reported here.
    (void)root_.getPosition();
    (void)root_.getTenant();
  } catch (const kj::Exception& e) {
    root_ = schema::Event::Reader();
    return Status::Corruption(std::string("undecodable event: ") + e.getDescription().cStr());
  }
  return Status::OK();
}

std::string_view StoredEvent::bytes() const {
  if (!state_) return {};
  return {reinterpret_cast<const char*>(state_->words.get()), size_};
}

bool StoredEvent::HashMatches() const {
  if (!state_) return false;
  return EventHashMatches(root_, bytes());
}

bool EventHashMatches(schema::Event::Reader event, std::string_view bytes) {
  try {
    const auto offset = HashOffset(event, bytes.data(), bytes.size());
    if (!offset || !event.hasPrevHash() || event.getPrevHash().size() != 32) return false;
    // Hash the bytes with the hash field zeroed, without copying the rest twice.
    static const char kZeros[32] = {};
    const capnp::Data::Reader prev = event.getPrevHash();
    const Digest computed = Sha256Parts(
        {std::string_view(reinterpret_cast<const char*>(prev.begin()), prev.size()),
         bytes.substr(0, *offset), std::string_view(kZeros, 32), bytes.substr(*offset + 32)});
    return std::memcmp(computed.data(), bytes.data() + *offset, 32) == 0;
  } catch (const kj::Exception&) {
    return false;
  }
}

std::string EncodeCanonicalEvent(schema::Event::Builder event, Digest* hash) {
  event.initHash(32);  // zeroed while hashing
  const kj::Array<capnp::word> words = capnp::canonicalize(event.asReader());
  const auto* base = reinterpret_cast<const char*>(words.begin());
  std::string bytes(base, words.size() * sizeof(capnp::word));

  kj::ArrayPtr<const capnp::word> segments[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(
      kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segments, 1), StoredReaderOptions());
  const schema::Event::Reader canonical = reader.getRoot<schema::Event>();
  const auto offset = HashOffset(canonical, words.begin(), bytes.size());
  KJ_ASSERT(offset.has_value(), "canonical event has no hash field");
  const capnp::Data::Reader prev = canonical.getPrevHash();
  *hash = Sha256(std::string_view(reinterpret_cast<const char*>(prev.begin()), prev.size()), bytes);
  std::memcpy(bytes.data() + *offset, hash->data(), hash->size());
  event.setHash(capnp::Data::Reader(hash->data(), hash->size()));
  return bytes;
}

}  // namespace ledger
