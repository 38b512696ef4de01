// See read_ahead.hpp.
#include "util/read_ahead.hpp"

#include "util/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dbtool {

ReadAhead::ReadAhead(const std::filesystem::path& file) : file_(file) {
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot read " + file.string() + ": " + std::strerror(errno), ExitCode::kFailure);
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  for (std::size_t i = 0; i < kBuffers; ++i) free_.push(Chunk{std::make_unique<char[]>(kChunkBytes), 0, 0});
  thread_ = std::thread([this] {
    while (std::optional<Chunk> c = free_.pop()) {
      ssize_t got;
      do {
        got = ::read(fd_, c->bytes.get(), kChunkBytes);
      } while (got < 0 && errno == EINTR);
      c->error = got < 0 ? errno : 0;
      c->size = got > 0 ? static_cast<std::size_t>(got) : 0;
      const bool last = got <= 0;
      if (!filled_.push(std::move(*c)) || last) break;
    }
    filled_.close();
  });
}

ReadAhead::~ReadAhead() {
  filled_.abandon();  // a push waiting for room gives up
  free_.close();      // a pop waiting for a buffer gives up
  thread_.join();
  ::close(fd_);
}

ReadAhead::Chunk ReadAhead::next() {
  std::optional<Chunk> c = filled_.pop();
  if (!c) return Chunk{};
  if (c->error != 0) throw Error("cannot read " + file_.string() + ": " + std::strerror(c->error), ExitCode::kFailure);
  return std::move(*c);
}

void ReadAhead::recycle(Chunk&& chunk) {
  if (chunk.bytes) free_.push(std::move(chunk));
}

}  // namespace dbtool
