// libFuzzer target for the export -> mapping path: the bytes are an export file, read by the
// record reader and mapped by the import engine with the shipped schema and mapping, records
// that cannot be mapped going to a reject sink. A clear dbtool::Error is the expected answer to
// bad input; a crash, a sanitizer report or any other exception is a finding.
#include "import/export_import.hpp"
#include "util/error.hpp"

#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <sstream>

namespace {

struct Fixture {
  dbtool::Schema schema = dbtool::load_schema(std::filesystem::path(DBTOOL_SOURCE_SCHEMAS_DIR) / "schema.json");
  dbtool::ImportMapping mapping =
      dbtool::load_mapping(std::filesystem::path(DBTOOL_SOURCE_SCHEMAS_DIR) / "import-mapping.json", schema);
  // The reader takes a path: one scratch file per fuzzing process, in memory where possible.
  std::filesystem::path file = std::filesystem::path(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") /
                               ("dbtool-export-fuzz-" + std::to_string(getpid()) + ".json");
  ~Fixture() { std::filesystem::remove(file); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  {
    std::ofstream out(f.file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::ostringstream rejects;
  dbtool::ImportOptions options;
  options.batch_rows = 7;  // small batches, so flushing and the queue are exercised too
  options.reject_sink = &rejects;
  options.default_password_hash = [] { return std::optional<std::string>("pbkdf2:sha256:1$salt$00"); };
  try {
    dbtool::import_files({f.file}, f.schema, f.mapping, options, [](dbtool::ImportBatch&&) {});
  } catch (const dbtool::Error&) {
  }
  return 0;
}
