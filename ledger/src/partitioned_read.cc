#include "ledger/partitioned_read.h"

#include <capnp/message.h>
#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/log_partitions.h"
#include "ledger/store.h"

namespace ledger {
namespace {

// The stored bytes of one chunk's events, back to back, each word-aligned. Filled by one
// reader, then shared read-only by the workers.
struct ChunkBytes {
  std::unique_ptr<capnp::word[]> words;  // not zeroed: every word used is copied in
  size_t size = 0;                       // words used
  size_t capacity = 0;

  // Appends `bytes` (whole words); returns the first word's index.
  size_t Append(std::string_view bytes) {
    const size_t n = bytes.size() / sizeof(capnp::word);
    if (size + n > capacity) {
      const size_t grown = std::max(capacity * 2, size + n + 4096);
      std::unique_ptr<capnp::word[]> bigger(new capnp::word[grown]);
      if (size > 0) std::memcpy(bigger.get(), words.get(), size * sizeof(capnp::word));
      words = std::move(bigger);
      capacity = grown;
    }
    std::memcpy(words.get() + size, bytes.data(), bytes.size());
    const size_t first = size;
    size += n;
    return first;
  }
};

// The events of one chunk that one worker folds. An empty batch still marks the chunk
// as done for that worker.
struct Batch {
  std::shared_ptr<const ChunkBytes> bytes;
  std::vector<std::pair<size_t, size_t>> extents;  // (first word, word count)
};

// A bounded queue of batches from one reader to one worker. nullptr = no more chunks.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}

  // Waits for room unless `stop` is set (then the queue may exceed its capacity).
  void Push(std::unique_ptr<Batch> batch, const std::atomic<bool>& stop) {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return queue_.size() < capacity_ || stop.load(); });
    queue_.push_back(std::move(batch));
    ready_.notify_one();
  }

  std::unique_ptr<Batch> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty(); });
    auto batch = std::move(queue_.front());
    queue_.pop_front();
    room_.notify_one();
    return batch;
  }

  // Wakes a reader waiting for room (after `stop` was set).
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    room_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::unique_ptr<Batch>> queue_;
};

}  // namespace

int PartitionOf(std::string_view tenant, int partitions) {
  if (partitions <= 1) return 0;
  // FNV-1a: cheap, and stable across runs (std::hash need not be).
  uint64_t h = 1469598103934665603ull;
  for (const char c : tenant) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return static_cast<int>(h % static_cast<uint64_t>(partitions));
}

Status ReadLogPartitioned(const Store& store, const PartitionedReadOptions& options,
                          const PartitionVisitor& visit, uint64_t* bad_position) {
  const size_t workers_n = static_cast<size_t>(std::max(1, options.partitions));
  const size_t readers_n = static_cast<size_t>(std::max(1, options.readers));
  const uint64_t chunk = std::max<uint64_t>(1, options.chunk_events);
  // Chunks of positions, partition by partition (each partition's positions run without
  // gaps from PartitionBase(p) + 1 to its last); reader r reads chunks r, r + readers, ...
  const std::vector<uint64_t> frontier = store.LogFrontier();
  const auto log_partitions = static_cast<uint32_t>(frontier.size());
  std::vector<std::pair<uint64_t, uint64_t>> chunks;
  for (uint32_t q = 0; q < log_partitions; ++q) {
    const uint64_t first = std::max<uint64_t>(options.from, PartitionBase(q) + 1);
    const uint64_t last = std::min(options.to, frontier[q]);
    for (uint64_t start = first; start <= last;) {
      const uint64_t end = last - start < chunk ? last : start + chunk - 1;
      chunks.emplace_back(start, end);
      if (end == last) break;
      start = end + 1;
    }
  }

  std::atomic<bool> stop{false};
  std::mutex error_mu;
  Status first_error;
  // queues[r * workers_n + w]: reader r to worker w.
  std::vector<std::unique_ptr<BatchQueue>> queues;
  for (size_t i = 0; i < readers_n * workers_n; ++i) {
    queues.push_back(std::make_unique<BatchQueue>(std::max<size_t>(1, options.queue_chunks)));
  }
  uint64_t first_bad = 0;
  auto fail = [&](Status s, uint64_t position = 0) {
    {
      std::lock_guard<std::mutex> lock(error_mu);
      if (first_error.ok() || (position != 0 && (first_bad == 0 || position < first_bad))) {
        first_error = std::move(s);
        first_bad = position;
      }
      stop = true;
    }
    for (auto& q : queues) q->Wake();  // readers waiting for room must see `stop`
  };
  auto queue = [&](size_t r, size_t w) -> BatchQueue& { return *queues[r * workers_n + w]; };

  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers_n; ++w) {
    threads.emplace_back([&, w] {
      const capnp::ReaderOptions reader_options = StoredReaderOptions();
      // Chunk c comes from reader c % readers_n: take them in turn.
      for (size_t r = 0;; r = (r + 1) % readers_n) {
        auto batch = queue(r, w).Pop();
        if (!batch) break;   // readers finish in turn too, so every later queue is done
        if (stop) continue;  // drain until the end markers
        for (const auto& [first, count] : batch->extents) {
          Status s;
          try {
            // Stored bytes are one canonical segment without a segment table.
            const kj::ArrayPtr<const capnp::word> segments[1] = {
                kj::ArrayPtr<const capnp::word>(batch->bytes->words.get() + first, count)};
            capnp::SegmentArrayMessageReader reader(
                kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segments, 1), reader_options);
            s = visit(static_cast<int>(w), reader.getRoot<schema::Event>(),
                      std::string_view(reinterpret_cast<const char*>(segments[0].begin()),
                                       count * sizeof(capnp::word)));
          } catch (const kj::Exception& e) {
            s = Status::Corruption(std::string("undecodable event: ") + e.getDescription().cStr());
          }
          if (!s.ok()) {
            fail(std::move(s));
            break;
          }
        }
      }
    });
  }

  for (size_t r = 0; r < readers_n; ++r) {
    threads.emplace_back([&, r] {
      const capnp::ReaderOptions reader_options = StoredReaderOptions();
      size_t capacity_hint = 0;
      for (size_t c = r; c < chunks.size() && !stop; c += readers_n) {
        const auto [start, end] = chunks[c];
        auto bytes = std::make_shared<ChunkBytes>();
        if (capacity_hint > 0) {
          bytes->words.reset(new capnp::word[capacity_hint]);
          bytes->capacity = capacity_hint;
        }
        std::vector<std::unique_ptr<Batch>> batches(workers_n);
        for (auto& b : batches) b = std::make_unique<Batch>();
        uint64_t expected = start;
        Status s = store.ScanLog(start, end, [&](uint64_t position, std::string_view event) {
          if (position != expected) return false;
          if (event.empty() || event.size() % sizeof(capnp::word) != 0) {
            fail(Status::Corruption("position " + std::to_string(position) +
                                    ": event bytes are not whole Cap'n Proto words"),
                 position);
            return false;
          }
          const size_t first = bytes->Append(event);
          const size_t count = event.size() / sizeof(capnp::word);
          try {
            const kj::ArrayPtr<const capnp::word> segments[1] = {
                kj::ArrayPtr<const capnp::word>(bytes->words.get() + first, count)};
            capnp::SegmentArrayMessageReader reader(
                kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>(segments, 1), reader_options);
            const auto root = reader.getRoot<schema::Event>();
            if (root.getPosition() != position) {
              fail(Status::Corruption("position " + std::to_string(position) +
                                      ": the event says it is at position " +
                                      std::to_string(root.getPosition())),
                   position);
              return false;
            }
            const auto tenant = root.getTenant();
            const std::string_view tenant_id(tenant.cStr(), tenant.size());
            if (log_partitions > 1 &&
                LogPartitionOf(tenant_id, log_partitions) != PartitionOfPosition(position)) {
              fail(Status::Corruption(
                       fmt::format("position {}: tenant '{}' belongs to partition {}, not {}",
                                   position, tenant_id, LogPartitionOf(tenant_id, log_partitions),
                                   PartitionOfPosition(position))),
                   position);
              return false;
            }
            const int w = PartitionOf(tenant_id, static_cast<int>(workers_n));
            batches[static_cast<size_t>(w)]->extents.emplace_back(first, count);
          } catch (const kj::Exception& e) {
            fail(Status::Corruption("position " + std::to_string(position) +
                                    ": undecodable event: " + e.getDescription().cStr()),
                 position);
            return false;
          }
          ++expected;
          return true;
        });
        if (!s.ok()) {
          fail(std::move(s));
        } else if (!stop && expected != end + 1) {
          fail(Status::Corruption("the log has no event at position " + std::to_string(expected)),
               expected);
        }
        capacity_hint = std::max(capacity_hint, bytes->size);
        for (size_t w = 0; w < workers_n; ++w) {
          batches[w]->bytes = bytes;
          queue(r, w).Push(std::move(batches[w]), stop);
        }
      }
      // Readers run out in turn: the worker meets this marker where a chunk would be.
      for (size_t w = 0; w < workers_n; ++w) queue(r, w).Push(nullptr, stop);
    });
  }
  for (auto& t : threads) t.join();
  if (bad_position != nullptr) *bad_position = first_bad;
  return first_error;
}

}  // namespace ledger
