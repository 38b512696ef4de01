// Reading and writing a SQLite file directly, as another program would, for the suites that
// check what dbtool left behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace dbtool::testing {

// Every row of `sql` as tab-separated text, one line per row ("NULL" for NULL); a statement
// that does not prepare gives "ERROR: <message>". Opens the file read-only.
std::string sqlite_query(const std::filesystem::path& db, const std::string& sql);

// SELECT count(*) FROM `from` (a table, optionally with a WHERE clause); -1 when that fails.
int64_t sqlite_count(const std::filesystem::path& db, const std::string& from);

// Runs `sql` (several statements allowed); a failure is a test failure naming SQLite's message.
void sqlite_exec(const std::filesystem::path& db, const std::string& sql);

}  // namespace dbtool::testing
