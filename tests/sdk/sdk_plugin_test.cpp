// The SDK's plugin entry helpers: make_backend_api fills slots by name and nothing else,
// init_plugin honours struct_size both ways (a host's shorter descriptor is not overrun, an
// older host's services table keeps the services it has), DBTOOL_SDK_EXPORT_PLUGIN defines the
// entry point; and Handle releases what it owns exactly once.
#include <gtest/gtest.h>

#include <dbtool/sdk/handle.hpp>
#include <dbtool/sdk/plugin.hpp>

#include <cstring>
#include <vector>

namespace {

// Required slots plus backup; no restore, cancel or read slots.
struct Minimal {
  static dbtool_status open(const char*, dbtool_session**, dbtool_error*) { return DBTOOL_OK; }
  static void close(dbtool_session*) {}
  static dbtool_status describe(dbtool_session*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status read_table(dbtool_session*, const char*, ArrowArrayStream*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status backup(dbtool_session*, const char*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status stage_begin(dbtool_session*, const char*, dbtool_stage**, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status stage_load(dbtool_stage*, const char*, ArrowArrayStream*, int64_t*, dbtool_error*) {
    return DBTOOL_OK;
  }
  static dbtool_status stage_count(dbtool_stage*, const char*, int64_t*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status stage_commit(dbtool_stage*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
  static void stage_abort(dbtool_stage*) {}
};

TEST(SdkPlugin, MakeBackendApiSetsEachSlotByNameAndLeavesTheRestNull) {
  const dbtool_backend_api api = dbtool::sdk::make_backend_api<Minimal>();
  EXPECT_EQ(api.struct_size, sizeof(dbtool_backend_api));
  EXPECT_EQ(api.open, &Minimal::open);
  EXPECT_EQ(api.close, &Minimal::close);
  EXPECT_EQ(api.describe, &Minimal::describe);
  EXPECT_EQ(api.read_table, &Minimal::read_table);
  EXPECT_EQ(api.backup, &Minimal::backup);
  EXPECT_EQ(api.stage_begin, &Minimal::stage_begin);
  EXPECT_EQ(api.stage_load, &Minimal::stage_load);
  EXPECT_EQ(api.stage_count, &Minimal::stage_count);
  EXPECT_EQ(api.stage_commit, &Minimal::stage_commit);
  EXPECT_EQ(api.stage_abort, &Minimal::stage_abort);
  EXPECT_EQ(api.cancel, nullptr);
  EXPECT_EQ(api.restore, nullptr);
  EXPECT_EQ(api.snapshot_begin, nullptr);
  EXPECT_EQ(api.snapshot_end, nullptr);
  EXPECT_EQ(api.describe_schema, nullptr);
  EXPECT_EQ(api.verify_backup, nullptr);
  EXPECT_EQ(api.describe_uri, nullptr);
  EXPECT_EQ(api.restore_stage, nullptr);
  EXPECT_FALSE(DBTOOL_HAS_SLOT(&api, restore));
  EXPECT_TRUE(DBTOOL_HAS_SLOT(&api, backup));
}

// The optional slots of 1.1, 1.2 and 1.3 are filled by name like the others.
struct WithUris : Minimal {
  static dbtool_status verify_backup(dbtool_session*, const char*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status describe_uri(const char*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
  static dbtool_status restore_stage(dbtool_session*, const char*, const char*, dbtool_stage**, dbtool_text*,
                                     dbtool_error*) {
    return DBTOOL_OK;
  }
};

TEST(SdkPlugin, MakeBackendApiSetsVerifyBackupDescribeUriAndRestoreStage) {
  const dbtool_backend_api api = dbtool::sdk::make_backend_api<WithUris>();
  EXPECT_EQ(api.verify_backup, &WithUris::verify_backup);
  EXPECT_EQ(api.describe_uri, &WithUris::describe_uri);
  EXPECT_EQ(api.restore_stage, &WithUris::restore_stage);
  EXPECT_TRUE(DBTOOL_HAS_SLOT(&api, describe_uri));
  EXPECT_TRUE(DBTOOL_HAS_SLOT(&api, restore_stage));
}

struct Source {
  static dbtool_status fetch(const char*, dbtool_text*, dbtool_error*) { return DBTOOL_OK; }
};

TEST(SdkPlugin, MakeSourceApiSetsFetch) {
  const dbtool_source_api api = dbtool::sdk::make_source_api<Source>();
  EXPECT_EQ(api.struct_size, sizeof(dbtool_source_api));
  EXPECT_EQ(api.fetch, &Source::fetch);
}

const dbtool_backend_api kApi = dbtool::sdk::make_backend_api<Minimal>();
const dbtool::sdk::PluginInfo kInfo{DBTOOL_KIND_BACKEND, "sdk-test", "1.2.3", "for the test",
                                    DBTOOL_CAP_BACKUP,   &kApi,      nullptr};

TEST(SdkPlugin, InitPluginWritesNothingPastTheHostsDescriptor) {
  // A host whose dbtool_plugin ended after `capabilities`: the bytes behind it are not its.
  const uint32_t shorter = offsetof(dbtool_plugin, backend);
  std::vector<unsigned char> memory(sizeof(dbtool_plugin) + 16, 0xAB);
  auto* out = reinterpret_cast<dbtool_plugin*>(memory.data());
  std::memset(out, 0, shorter);
  out->struct_size = shorter;
  dbtool_error err{};
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, nullptr, out, &err, kInfo), DBTOOL_OK);
  EXPECT_STREQ(out->name, "sdk-test");
  EXPECT_EQ(out->capabilities, DBTOOL_CAP_BACKUP);
  for (size_t i = shorter; i < memory.size(); ++i) ASSERT_EQ(memory[i], 0xAB) << "byte " << i << " was overwritten";

  // The whole descriptor gets every field.
  dbtool_plugin full{};
  full.struct_size = sizeof full;
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, nullptr, &full, &err, kInfo), DBTOOL_OK);
  EXPECT_EQ(full.backend, &kApi);
  EXPECT_EQ(full.kind, static_cast<uint32_t>(DBTOOL_KIND_BACKEND));
  EXPECT_EQ(full.uri_schemes, nullptr);

  // A backend's other schemes (1.2) reach a host whose descriptor has the field, and only such.
  static const char* const kSchemes[] = {"sdk-alias", nullptr};
  dbtool::sdk::PluginInfo aliased = kInfo;
  aliased.uri_schemes = kSchemes;
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, nullptr, &full, &err, aliased), DBTOOL_OK);
  EXPECT_EQ(full.uri_schemes, kSchemes);
  const uint32_t v1_1 = offsetof(dbtool_plugin, uri_schemes);
  std::vector<unsigned char> older(sizeof(dbtool_plugin), 0xCD);
  auto* old_desc = reinterpret_cast<dbtool_plugin*>(older.data());
  std::memset(old_desc, 0, v1_1);
  old_desc->struct_size = v1_1;
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, nullptr, old_desc, &err, aliased), DBTOOL_OK);
  for (size_t i = v1_1; i < older.size(); ++i) ASSERT_EQ(older[i], 0xCD) << "byte " << i << " was overwritten";
}

std::vector<std::string> g_logged;
int g_later_calls = 0;
void test_log(void*, int32_t, const char* message) { g_logged.emplace_back(message); }
void test_progress(void*, const char*, int64_t, int64_t) { ++g_later_calls; }
int32_t test_cancelled(void*) {
  ++g_later_calls;
  return 1;
}

TEST(SdkPlugin, AnOlderHostKeepsTheServicesItHas) {
  // A host table that ends after `log`: progress and is_cancelled lie beyond it and must not be
  // called, although the memory there happens to hold callable pointers.
  dbtool_host_services host{};
  host.struct_size = offsetof(dbtool_host_services, progress);
  host.abi_version = DBTOOL_ABI_VERSION;
  host.log = test_log;
  host.progress = test_progress;
  host.is_cancelled = test_cancelled;
  dbtool_plugin out{};
  out.struct_size = sizeof out;
  dbtool_error err{};
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, &host, &out, &err, kInfo), DBTOOL_OK);
  dbtool::sdk::log(DBTOOL_LOG_INFO, "still heard");
  dbtool::sdk::progress("load", 1, 2);
  EXPECT_FALSE(dbtool::sdk::cancelled());
  EXPECT_EQ(g_logged, std::vector<std::string>{"still heard"});
  EXPECT_EQ(g_later_calls, 0);

  host.struct_size = sizeof host;
  ASSERT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_VERSION, &host, &out, &err, kInfo), DBTOOL_OK);
  EXPECT_TRUE(dbtool::sdk::cancelled());
  EXPECT_EQ(g_later_calls, 1);
  dbtool::sdk::g_host = nullptr;
}

TEST(SdkPlugin, AnotherMajorIsRefusedButTheDescriptorNamesThePlugin) {
  dbtool_plugin out{};
  out.struct_size = sizeof out;
  dbtool_error err{};
  EXPECT_EQ(dbtool::sdk::init_plugin(DBTOOL_ABI_MAKE(2, 0), nullptr, &out, &err, kInfo), DBTOOL_ERR_INCOMPATIBLE);
  EXPECT_STREQ(out.name, "sdk-test");
  EXPECT_EQ(out.backend, nullptr);
  ASSERT_NE(err.release, nullptr);
  err.release(&err);
}

}  // namespace

// This test program's own entry point, as a plugin writes it.
DBTOOL_SDK_EXPORT_PLUGIN(kInfo)

namespace {

TEST(SdkPlugin, ExportPluginDefinesTheEntryPointOverInitPlugin) {
  dbtool_plugin out{};
  out.struct_size = sizeof out;
  dbtool_error err{};
  ASSERT_EQ(dbtool_plugin_init(DBTOOL_ABI_VERSION, nullptr, &out, &err), DBTOOL_OK);
  EXPECT_STREQ(out.name, "sdk-test");
  EXPECT_EQ(out.kind, static_cast<uint32_t>(DBTOOL_KIND_BACKEND));
  dbtool::sdk::g_host = nullptr;
  EXPECT_EQ(dbtool_plugin_init(DBTOOL_ABI_MAKE(2, 0), nullptr, &out, &err), DBTOOL_ERR_INCOMPATIBLE);
  ASSERT_NE(err.release, nullptr);
  err.release(&err);
}

int g_released = 0;
void release_int(int* p) {
  ++g_released;
  delete p;
}

TEST(SdkPlugin, HandleReleasesOnceWhereverItIsMoved) {
  using IntHandle = dbtool::sdk::Handle<int, release_int>;
  g_released = 0;
  {
    IntHandle a(new int(7));
    IntHandle b = std::move(a);
    EXPECT_EQ(a, nullptr);
    EXPECT_EQ(*b, 7);
    IntHandle c;
    c = std::move(b);
    EXPECT_EQ(g_released, 0);
    c.reset();
    EXPECT_EQ(g_released, 1);
    c.reset(new int(8));
    IntHandle empty;  // nothing to release
  }
  EXPECT_EQ(g_released, 2);
}

}  // namespace
