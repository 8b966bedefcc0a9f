#include "app/replica_demo.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "replica/replica.h"
#include "replica/rpc_node.h"

namespace worldline::app {
namespace {

namespace fs = std::filesystem;

// True if 127.0.0.1:port can be bound right now.
bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

struct Observed {
  std::atomic<std::uint64_t> seq{0}, digest{0}, entries{0}, lag_groups{0}, up_peers{0};
};

}  // namespace

int run_replica_demo(std::ostream& out, std::uint64_t seconds, std::uint64_t writes_per_second) {
  std::random_device rd;
  int base = 0;
  for (int attempt = 0; attempt < 20 && base == 0; ++attempt) {
    const int candidate = 45000 + static_cast<int>(rd() % 1000) * 10;
    if (port_free(candidate + 1) && port_free(candidate + 2) && port_free(candidate + 3)) {
      base = candidate;
    }
  }
  if (base == 0) {
    out << "could not find three free loopback ports; skipping the replica demo\n";
    return 1;
  }
  const fs::path dir = fs::temp_directory_path() / ("worldline-demo-" + std::to_string(rd()));
  fs::create_directories(dir);
  const auto registry = replica::ComponentRegistry::game_defaults();
  const char* names[] = {"eu-west", "us-east", "ap-south"};
  out << "\n4. Now for real: three replica nodes (a thread each in this process), each with an "
         "LMDB journal in "
      << dir.string() << " and Cap'n Proto RPC on 127.0.0.1:" << base + 1 << "-" << base + 3
      << ", peers authenticated by HMAC. Each writes " << writes_per_second << " positions/s for "
      << seconds << " s.\n";
  std::array<Observed, 3> seen;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    replica::ReplicaNodeConfig c;
    c.id = static_cast<replica::ReplicaId>(i + 1);
    c.listen = "127.0.0.1:" + std::to_string(base + i + 1);
    c.data_dir = (dir / names[i]).string();
    c.secret = "demo-cluster-secret";
    c.tick_ms = 50;
    c.gossip_interval_ms = 50;
    for (int j = 0; j < 3; ++j) {
      if (j != i) {
        c.peers.push_back(
            {static_cast<replica::ReplicaId>(j + 1), "127.0.0.1:" + std::to_string(base + j + 1)});
      }
    }
    replica::RunOptions o;
    o.stop = &stop;
    o.status_interval_ms = 0;
    o.load.kind = replica::WriteLoad::Kind::kPositions;
    o.load.entities = 2000;
    o.load.rate_per_s = writes_per_second;
    o.load.count = writes_per_second * seconds;
    Observed& mine = seen[i];
    o.on_tick = [&mine](const replica::Replica& r, std::uint64_t now) {
      const auto st = r.stats(now);
      std::uint64_t lag = 0, up = 0;
      for (const auto& [id, p] : st.peers) {
        lag = std::max(lag, p.lag_groups);
        up += p.up;
      }
      mine.seq = st.next_seq;
      mine.entries = r.store().entries().size();
      mine.digest = r.store().digest();
      mine.lag_groups = lag;
      mine.up_peers = up;
    };
    threads.emplace_back([c, o, &registry] {
      replica::ReplicaNode node(c, registry);
      node.run(o);
    });
  }
  bool converged = false;
  for (std::uint64_t s = 1; s <= seconds + 5; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    out << "   t=" << s << "s";
    for (int i = 0; i < 3; ++i) {
      out << "  " << names[i] << ": groups " << seen[i].seq << ", keys " << seen[i].entries
          << ", peers up " << seen[i].up_peers << "/2, max lag " << seen[i].lag_groups << "g";
    }
    converged =
        seen[0].digest == seen[1].digest && seen[1].digest == seen[2].digest && seen[0].entries > 0;
    out << (converged ? "  [identical]" : "") << "\n" << std::flush;
    if (s >= seconds && converged) break;
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  fs::remove_all(dir);
  out << "   " << (converged ? "CONVERGED" : "DIVERGED") << ": the three nodes "
      << (converged ? "hold identical state, journaled on disk." : "did not converge.") << "\n";
  return converged ? 0 : 1;
}

}  // namespace worldline::app
