// Reading a file front to back a megabyte at a time on a thread of its own, a few chunks ahead
// of the one consumer: the import's parsing thread is its critical path, and the kernel copying
// the file's bytes was a tenth of its time.
#pragma once

#include "util/bounded_queue.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <thread>

namespace dbtool {

class ReadAhead {
 public:
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    std::size_t size = 0;  // 0: the end of the file
    int error = 0;         // errno of a failed read
  };

  // Opens `file` (throws dbtool::Error when it cannot) and starts reading.
  explicit ReadAhead(const std::filesystem::path& file);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The next chunk in file order; size 0 at the end. Throws dbtool::Error when a read failed.
  Chunk next();
  // Hands a chunk's buffer back for a later read (the few buffers go round, so memory is flat
  // and no fresh pages are touched per megabyte).
  void recycle(Chunk&& chunk);

 private:
  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
  static constexpr std::size_t kBuffers = 3;
  std::filesystem::path file_;
  int fd_ = -1;
  BoundedQueue<Chunk> filled_{kBuffers};
  BoundedQueue<Chunk> free_{kBuffers};
  std::thread thread_;
};

}  // namespace dbtool
