// Files and folders that can hold user data (reject files, backups folders), made owner-only and
// never reached through a link that someone else planted at the path.
#pragma once

#include <filesystem>
#include <ostream>
#include <streambuf>
#include <string>

namespace dbtool {

// Opens `path` for writing, empty, mode 0600. A missing file is created (O_EXCL, so nothing
// can slip in between); an existing regular file owned by this user with no other hard link is
// truncated. A symbolic link, a non-regular file, someone else's file or a file with other
// hard links is refused with dbtool::Error(kUsage) naming `what`, and left untouched.
// Returns the open descriptor, which the caller closes.
int open_private_file(const std::filesystem::path& path, const std::string& what);

// An ostream over open_private_file. close() flushes, syncs and reports whether every byte
// reached the file; the destructor closes silently.
class PrivateFileStream : public std::ostream {
 public:
  PrivateFileStream(const std::filesystem::path& path, const std::string& what);
  ~PrivateFileStream() override;
  bool close();

 private:
  class Buffer : public std::streambuf {
   public:
    explicit Buffer(int fd);
    int fd() const { return fd_; }
    void forget() { fd_ = -1; }
    bool drain();

   protected:
    int_type overflow(int_type c) override;
    int sync() override { return drain() ? 0 : -1; }

   private:
    int fd_;
    char data_[64 * 1024];
  };
  Buffer buffer_;
};

// The folder `folder` ready to hold private files, and where it really is. Missing, it is
// created 0700. A symbolic link is followed only to a folder owned by this user, and is never
// chmod'ed through; someone else's folder is refused (dbtool::Error(kUsage) naming `what`).
// `tighten` makes an existing real folder of ours 0700.
std::filesystem::path private_folder(const std::filesystem::path& folder, const std::string& what, bool tighten);

}  // namespace dbtool
