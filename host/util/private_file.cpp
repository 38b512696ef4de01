// See private_file.hpp. Every check is made on the open descriptor or with lstat, so a link
// planted at the path is refused rather than followed.
#include "util/private_file.hpp"

#include "util/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dbtool {
namespace fs = std::filesystem;

int open_private_file(const fs::path& path, const std::string& what) {
  const std::string name = what + " " + path.string();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  if (errno != EEXIST) throw Error("cannot create the " + name + ": " + std::strerror(errno), ExitCode::kUsage);
  // It exists: reuse it only if it is plainly ours. O_NOFOLLOW refuses a symbolic link before
  // anything is truncated; the rest is checked on the descriptor, then truncated.
  fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP)
      throw Error("refusing to write the " + name +
                      ": it is a symbolic link (its target is left untouched); "
                      "remove the link or choose another path",
                  ExitCode::kUsage);
    throw Error("cannot open the " + name + ": " + std::strerror(errno), ExitCode::kUsage);
  }
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0)
    problem = std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    problem = "it is not a regular file";
  else if (st.st_uid != ::geteuid())
    problem = "it belongs to another user";
  else if (st.st_nlink != 1)
    problem = "it has other hard links";
  if (problem.empty() && (::fchmod(fd, 0600) != 0 || ::ftruncate(fd, 0) != 0)) problem = std::strerror(errno);
  if (!problem.empty()) {
    ::close(fd);
    throw Error("refusing to write the " + name + ": " + problem + " (left untouched); choose another path",
                ExitCode::kUsage);
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

PrivateFileStream::Buffer::Buffer(int fd) : fd_(fd) { setp(data_, data_ + sizeof(data_)); }

bool PrivateFileStream::Buffer::drain() {
  const char* p = pbase();
  while (p < pptr()) {
    ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
  }
  setp(data_, data_ + sizeof(data_));
  return true;
}

PrivateFileStream::Buffer::int_type PrivateFileStream::Buffer::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

PrivateFileStream::PrivateFileStream(const fs::path& path, const std::string& what)
    : std::ostream(nullptr), buffer_(open_private_file(path, what)) {
  rdbuf(&buffer_);
}

PrivateFileStream::~PrivateFileStream() {
  if (buffer_.fd() >= 0) ::close(buffer_.fd());
}

bool PrivateFileStream::close() {
  bool ok = good() && buffer_.drain() && ::fsync(buffer_.fd()) == 0;
  ok = ::close(buffer_.fd()) == 0 && ok;
  buffer_.forget();
  if (!ok) setstate(std::ios::badbit);
  return ok;
}

fs::path private_folder(const fs::path& folder, const std::string& what, bool tighten) {
  const std::string name = what + " " + folder.string();
  struct stat st {};
  if (::lstat(folder.c_str(), &st) != 0) {
    if (errno != ENOENT) throw Error("cannot use the " + name + ": " + std::strerror(errno));
    std::error_code ec;
    fs::create_directories(folder.parent_path(), ec);
    if (ec) throw Error("cannot create the " + name + ": " + ec.message());
    if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST)
      throw Error("cannot create the " + name + ": " + std::strerror(errno));
    if (::lstat(folder.c_str(), &st) != 0) throw Error("cannot use the " + name + ": " + std::strerror(errno));
  }
  fs::path real = folder;
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    real = fs::canonical(folder, ec);
    if (ec || ::stat(real.c_str(), &st) != 0)
      throw Error("the " + name + " is a symbolic link to nothing; refusing to use it", ExitCode::kUsage);
    tighten = false;  // the link's target keeps the permissions its owner gave it
  }
  if (!S_ISDIR(st.st_mode)) throw Error("the " + name + " is not a folder", ExitCode::kUsage);
  if (st.st_uid != ::geteuid())
    throw Error("refusing the " + name + (real != folder ? " (a link to " + real.string() + ")" : std::string()) +
                    ": it belongs to another user, so it could read or replace what dbtool writes there",
                ExitCode::kUsage);
  if (tighten && (st.st_mode & 077) != 0) {
    int fd = ::open(real.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || ::fchmod(fd, 0700) != 0) {
      if (fd >= 0) ::close(fd);
      throw Error("cannot make the " + name + " owner-only: " + std::strerror(errno));
    }
    ::close(fd);
  }
  return real;
}

}  // namespace dbtool
