// Parsing and validation of the import mapping against the schema.
#include "import/import_mapping.hpp"

#include "util/error.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dbtool {
namespace json = boost::json;

namespace {

class MappingReader {
 public:
  MappingReader(std::string origin, const Schema& schema) : origin_(std::move(origin)), schema_(schema) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw Error(origin_ + ": " + path + ": " + what, ExitCode::kUsage);
  }
  const json::object& object(const json::value* v, const std::string& path) const {
    if (v == nullptr) fail(path, "missing");
    if (!v->is_object()) fail(path, "expected an object");
    return v->get_object();
  }
  std::string string(const json::object& o, const char* key, const std::string& path) const {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) fail(path + "." + key, "missing");
    if (!v->is_string()) fail(path + "." + key, "expected a string");
    return std::string(v->get_string());
  }
  const PortableTable& table(const json::object& o, const std::string& path) const {
    std::string name = string(o, "table", path);
    const PortableTable* t = schema_.find_table(name);
    if (t == nullptr) fail(path + ".table", "no table \"" + name + "\" in " + schema_.origin);
    return *t;
  }
  int column(const PortableTable& t, const std::string& name, const std::string& path) const {
    int i = t.column_index(name);
    if (i < 0) fail(path, "no column \"" + name + "\" in table " + t.name);
    return i;
  }
  std::vector<FieldMap> fields(const json::object& o, const PortableTable& t, const std::string& path) const {
    std::vector<FieldMap> out;
    const json::value* v = o.if_contains("fields");
    if (v == nullptr) return out;
    const json::object& f = object(v, path + ".fields");
    for (const auto& kv : f) {
      std::string p = path + ".fields." + std::string(kv.key());
      if (!kv.value().is_string()) fail(p, "expected a column name");
      std::string col(kv.value().get_string());
      out.push_back({std::string(kv.key()), col, column(t, col, p)});
    }
    return out;
  }

 private:
  std::string origin_;
  const Schema& schema_;
};

}  // namespace

ImportMapping parse_mapping(std::string_view text, const std::string& origin, const Schema& schema) {
  MappingReader r(origin, schema);
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) throw Error(origin + ": not valid JSON: " + ec.message(), ExitCode::kUsage);
  const json::object& o = r.object(&root, "(top level)");
  for (const auto& kv : o) {
    static const std::set<std::string> known = {"table",           "key",    "fields",       "ignore",
                                                "password_column", "nested", "when_missing", "description"};
    if (!known.count(std::string(kv.key()))) r.fail(std::string(kv.key()), "unknown field");
  }
  ImportMapping m;
  m.origin = origin;
  m.table = &r.table(o, "(top level)");
  m.fields = r.fields(o, *m.table, "(top level)");
  if (m.fields.empty()) r.fail("fields", "maps no field");
  if (o.contains("key")) {
    m.key_field = r.string(o, "key", "(top level)");
    bool mapped = false;
    for (const auto& f : m.fields) mapped = mapped || f.field == m.key_field;
    if (!mapped) r.fail("key", "\"" + m.key_field + "\" is not one of the mapped fields");
  }
  if (const json::value* ig = o.if_contains("ignore")) {
    if (!ig->is_array()) r.fail("ignore", "expected an array of field names");
    for (const auto& f : ig->get_array()) {
      if (!f.is_string()) r.fail("ignore", "expected an array of field names");
      m.ignore.insert(std::string(f.get_string()));
    }
  }
  if (const json::value* wm = o.if_contains("when_missing")) {
    const json::object& w = r.object(wm, "when_missing");
    for (const auto& kv : w) {
      std::string p = "when_missing." + std::string(kv.key());
      auto f = std::find_if(m.fields.begin(), m.fields.end(), [&](const FieldMap& x) { return x.field == kv.key(); });
      if (f == m.fields.end()) r.fail(p, "\"" + std::string(kv.key()) + "\" is not one of the mapped fields");
      const PortableColumn& c = m.table->columns[static_cast<size_t>(f->column_index)];
      if (kv.value().is_null() || !sdk::value_fits(c.kind(), kv.value()))
        r.fail(p, "does not fit column " + c.name + " (" + c.type + ")");
      m.when_missing.push_back({f->field, f->column_index, kv.value()});
    }
  }
  if (o.contains("password_column"))
    m.password_column = r.column(*m.table, r.string(o, "password_column", "(top level)"), "password_column");
  if (m.table->primary_key.size() == 1) {
    int pk = m.table->column_index(m.table->primary_key[0]);
    if (m.table->columns[static_cast<size_t>(pk)].auto_increment) m.id_column = pk;
  }
  if (const json::value* nv = o.if_contains("nested")) {
    if (!nv->is_array()) r.fail("nested", "expected an array");
    for (size_t i = 0; i < nv->get_array().size(); ++i) {
      std::string p = "nested[" + std::to_string(i) + "]";
      const json::object& no = r.object(&nv->get_array()[i], p);
      NestedMap n;
      n.field = r.string(no, "field", p);
      n.table = &r.table(no, p);
      n.fields = r.fields(no, *n.table, p);
      for (const auto& f : n.fields) n.known.insert(f.field);
      if (const json::value* ig = no.if_contains("ignore")) {
        if (!ig->is_array()) r.fail(p + ".ignore", "expected an array of field names");
        for (const auto& f : ig->get_array()) {
          if (!f.is_string()) r.fail(p + ".ignore", "expected an array of field names");
          n.known.insert(std::string(f.get_string()));
        }
      }
      const json::object& parent = r.object(no.if_contains("parent"), p + ".parent");
      n.parent_column = r.column(*n.table, r.string(parent, "column", p + ".parent"), p + ".parent.column");
      std::string from = r.string(parent, "from", p + ".parent");
      for (const auto& f : m.fields)
        if (f.field == from) n.parent_from = f.column_index;
      if (n.parent_from < 0) r.fail(p + ".parent.from", "\"" + from + "\" is not a mapped field of the record");
      if (const json::value* lv = no.if_contains("lookup")) {
        std::string lp = p + ".lookup";
        const json::object& lo = r.object(lv, lp);
        LookupMap l;
        l.table = &r.table(lo, lp);
        l.by = r.string(lo, "by", lp);
        n.known.insert(l.by);
        l.key_column = r.column(*l.table, r.string(lo, "key_column", lp), lp + ".key_column");
        l.id_column = r.column(*l.table, r.string(lo, "id_column", lp), lp + ".id_column");
        if (l.table->columns[static_cast<size_t>(l.id_column)].kind() != PortableType::Int64)
          r.fail(lp + ".id_column", "must be an int64 column");
        l.fields = r.fields(lo, *l.table, lp);
        if (lo.contains("id_field")) {
          l.id_field = r.string(lo, "id_field", lp);
          n.known.insert(l.id_field);
        }
        for (const auto& f : l.fields) n.known.insert(f.field);
        l.ref_column = r.column(*n.table, r.string(lo, "column", lp), lp + ".column");
        n.lookup = std::move(l);
      }
      m.nested.push_back(std::move(n));
    }
  }
  return m;
}

ImportMapping load_mapping(const std::filesystem::path& file, const Schema& schema) {
  return parse_mapping(read_file(file), file.string(), schema);
}

}  // namespace dbtool
