// Settings that come from the environment: the .env file, secrets (never from argv), and the
// terminal questions (yes/no, no-echo password).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dbtool {

// Reads KEY=VALUE lines (comments, blank lines, `export`, single or double quotes allowed)
// and sets each KEY that the environment does not already have, so the real environment wins.
// A missing file is not an error; an unreadable one is.
void load_env_file(const std::filesystem::path& file);

// The first non-empty of the environment variables `names`; else, on a terminal, a no-echo
// prompt `prompt`; else nullopt.
std::optional<std::string> find_secret(const std::vector<std::string>& names, const std::string& prompt,
                                       bool may_prompt);

bool stdin_is_terminal();

// Asks `question` [y/N] on the terminal. Throws dbtool::Error(kRefused) when there is no
// terminal, naming `--yes` as the way to go on.
bool confirm(const std::string& question);

// "20261124T235959Z" (for file names) and "2026-11-24T23:59:59Z" (for records).
std::string utc_stamp_compact();
std::string utc_stamp_iso();

// Replaces the password part of any user:password@ in a URI with "***".
std::string redact_uri(const std::string& uri);

}  // namespace dbtool
