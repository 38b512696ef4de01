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
// Only dbtool's own settings and secrets are taken (env_file_may_set); the app's other keys are
// left alone, and a key that would choose code to load (DBTOOL_PLUGIN_PATH) is ignored with a
// warning. A missing file is not an error; an unreadable one is.
void load_env_file(const std::filesystem::path& file);

// True for the keys a .env file may set: DBTOOL_* settings and secrets and MYSQL_PWD, but not
// DBTOOL_PLUGIN_PATH (a .env in the current folder is not trusted to choose code to load) nor
// the DBTOOL_TEST_* hooks.
bool env_file_may_set(const std::string& key);

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

// Refuses (dbtool::Error(kUsage)) a URI given as `option` that carries a password, or with
// `no_user` any user at all, saying where the credentials go instead (`instead`): a URI shows in
// the process list, the report and the run history.
void refuse_credentials_in_uri(const std::string& uri, const std::string& option, const std::string& instead,
                               bool no_user);

}  // namespace dbtool
