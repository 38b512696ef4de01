// Ctrl-C reaching the backends (plugins/cancel_registry.hpp): each registered session is
// cancelled exactly once, from the watcher thread that SIGINT and SIGTERM wake, and a session
// closing meanwhile waits until its cancel has returned.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <thread>

#include "plugins/cancel_registry.hpp"
#include "plugins/host_services.hpp"

namespace dbtool {
namespace {

using namespace std::chrono_literals;

TEST(CancelRegistry, CancelsEachRegisteredSessionExactlyOnce) {
  CancelRegistry registry;
  std::atomic<int> a{0}, b{0}, c{0};
  auto ra = registry.add([&] { ++a; });
  auto rb = registry.add([&] { ++b; });
  {
    auto rc = registry.add([&] { ++c; });
  }  // closed before the Ctrl-C: never cancelled
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(registry.cancel_all(), 2u);
  EXPECT_EQ(registry.cancel_all(), 0u) << "a second wake-up cancels nobody twice";
  EXPECT_EQ(a.load(), 1);
  EXPECT_EQ(b.load(), 1);
  EXPECT_EQ(c.load(), 0);
  ra.reset();
  EXPECT_EQ(registry.size(), 1u);
  CancelRegistry::Registration moved = std::move(rb);
  EXPECT_EQ(registry.size(), 1u) << "a moved registration stays registered once";
  moved.reset();
  EXPECT_EQ(registry.size(), 0u);
}

// The session's thread closes the session while the watcher is inside its cancel: the close
// waits until cancel has returned, so the plugin never sees cancel on a closed session.
TEST(CancelRegistry, ClosingWaitsForACancelInProgress) {
  CancelRegistry registry;
  std::promise<void> entered;
  std::atomic<bool> release{false}, cancel_returned{false}, unregistered{false};
  auto registration = registry.add([&] {
    entered.set_value();
    while (!release.load()) std::this_thread::sleep_for(1ms);
    cancel_returned = true;
  });
  std::thread watcher([&] { registry.cancel_all(); });
  entered.get_future().wait();
  std::thread closer([&] {
    registration.reset();
    EXPECT_TRUE(cancel_returned.load()) << "unregistered while its cancel was still running";
    unregistered = true;
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(unregistered.load()) << "close did not wait for the cancel in progress";
  release = true;
  closer.join();
  watcher.join();
  EXPECT_TRUE(unregistered.load());
}

// The whole path in a child process (the flag and the handler are process-wide): SIGINT sets
// the flag and the watcher thread, not the handler, cancels the registered session once.
TEST(CancelRegistryDeathTest, SigintReachesTheRegisteredSessionsFromTheWatcherThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_cancel_handler();
        std::atomic<int> calls{0};
        std::atomic<bool> on_main_thread{false};
        const std::thread::id main_id = std::this_thread::get_id();
        auto registration = session_cancels().add([&] {
          on_main_thread = std::this_thread::get_id() == main_id;
          ++calls;
        });
        std::raise(SIGINT);
        for (int i = 0; i < 500 && calls.load() == 0; ++i) std::this_thread::sleep_for(10ms);
        request_cancel();  // another wake-up: nobody is cancelled twice
        std::this_thread::sleep_for(100ms);
        registration.reset();
        std::exit(cancel_requested() && calls.load() == 1 && !on_main_thread.load() ? 0 : 10 + calls.load());
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace dbtool
