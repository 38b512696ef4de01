// JSON output for scripts: one document per run, plain decimal numbers, a format version.
#include "cli/output.hpp"

#include "plugins/host_services.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace dbtool {
namespace json = boost::json;

namespace {

bool g_json_output = false;
bool g_printed = false;

void write_value(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(kv.key()));
        out += ':';
        write_value(out, kv.value());
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_value(out, e);
      }
      out += ']';
      break;
    }
    case json::kind::double_: {
      double d = v.get_double();
      // JSON has no NaN or infinity; a rate over zero seconds is "not known", not a number.
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[400];
      auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
      out.append(buf, res.ptr);
      break;
    }
    default:
      out += json::serialize(v);
      break;
  }
}

}  // namespace

const char* const kExitCodeTable =
    "Exit codes:\n"
    "  0    done\n"
    "  1    failed; nothing was changed unless the message says so; `verify` found a difference\n"
    "  2    usage: bad command line, option value, config, schema or mapping file\n"
    "  3    refused: declined at the prompt, or no terminal to ask on and no --yes\n"
    "  4    data: source records could not be mapped\n"
    "  130  cancelled (Ctrl-C); nothing was changed\n"
    "With --json, stdout holds exactly one JSON document, also on failure:\n"
    "  {\"format\": 1, \"ok\": false, \"error\": {\"code\": \"usage\", \"message\": \"...\", \"exit\": 2}}";

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::kOk:
      return "ok";
    case ExitCode::kFailure:
      return "failed";
    case ExitCode::kUsage:
      return "usage";
    case ExitCode::kRefused:
      return "refused";
    case ExitCode::kDataError:
      return "data";
    case ExitCode::kCancelled:
      return "cancelled";
  }
  return "failed";
}

void set_json_output(bool on) { g_json_output = on; }
bool json_output() { return g_json_output; }

std::string to_json_text(const json::value& v) {
  std::string out;
  write_value(out, v);
  return out;
}

void print_json(const json::object& report) {
  end_progress();
  json::object doc{{"format", kJsonFormat}, {"ok", true}};
  for (const auto& kv : report)
    if (kv.key() != "format" && kv.key() != "ok") doc[kv.key()] = kv.value();
  std::cout << to_json_text(doc) << std::endl;
  g_printed = true;
}

bool json_document_printed() { return g_printed; }

void print_json_error(ExitCode code, const std::string& message, const json::object& details) {
  end_progress();
  json::object doc{
      {"format", kJsonFormat},
      {"ok", false},
      {"error", json::object{{"code", exit_code_name(code)}, {"message", message}, {"exit", static_cast<int>(code)}}}};
  for (const auto& kv : details)
    if (!doc.contains(kv.key())) doc[kv.key()] = kv.value();
  std::cout << to_json_text(doc) << std::endl;
  g_printed = true;
}

}  // namespace dbtool
