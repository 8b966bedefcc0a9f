// socket_floor — what the sockets alone cost, without worldline: N players' TCP connections on
// loopback, each carrying one small "state frame" per tick from the server side and a few small
// "actions" per second from the client side, over raw non-blocking sockets and epoll — no
// WebSocket framing, no parsing, no game, no journal. It answers the question issue #5's target
// raises on this machine: how many cores do 10 000 players at 20 frames and 10 actions per second
// take before a single game rule runs? The server half plays the node's gateway (one thread by
// default, like `io_threads = 1`), the client half the load generator (two threads); they share
// the machine as the real ones do, and on loopback a send also runs the receiver's TCP stack.
//
//   build/bench/bench/socket_floor [--players N] [--tick-hz 20] [--actions 10] [--frame-bytes 64]
//       [--action-bytes 40] [--seconds 5] [--server-threads 1] [--client-threads 2]
//
// Prints, for the measured seconds: messages per second each way, ticks on time (a tick is on
// time when its frames were all written before the next tick was due), CPU used by each half and
// by the whole machine (from /proc/stat, so kernel work done outside the process counts too), and
// CPU per message. Build with `bash dev.sh bench` (or `cmake --build build/bench --target
// socket_floor`); docs/benchmarks.md's table: for n in 1000 2500 4000 5000 7500 10000; do
// build/bench/bench/socket_floor --players $n --server-threads 2; done
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int players = 10'000;
  double tick_hz = 20;
  double actions_per_s = 10;  // per player
  int frame_bytes = 64;
  int action_bytes = 40;
  double seconds = 5;  // measured, after one second of warm-up
  int server_threads = 1;
  int client_threads = 2;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "socket_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void usage() {
  std::puts(
      "usage: socket_floor [--players N] [--tick-hz HZ] [--actions PER_PLAYER_PER_S]\n"
      "                    [--frame-bytes B] [--action-bytes B] [--seconds S]\n"
      "                    [--server-threads T] [--client-threads T]\n"
      "N TCP connections on loopback; the server side writes one frame per connection per tick,\n"
      "the client side writes actions at the given rate; prints what that costs in CPU.");
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "socket_floor: %s needs a value (--help)\n", a.c_str());
      std::exit(2);
    }
    const double v = std::atof(argv[++i]);
    if (!(v > 0)) {
      std::fprintf(stderr, "socket_floor: %s must be a positive number, not '%s'\n", a.c_str(),
                   argv[i]);
      std::exit(2);
    }
    if (a == "--players")
      o.players = static_cast<int>(v);
    else if (a == "--tick-hz")
      o.tick_hz = v;
    else if (a == "--actions")
      o.actions_per_s = v;
    else if (a == "--frame-bytes")
      o.frame_bytes = static_cast<int>(v);
    else if (a == "--action-bytes")
      o.action_bytes = static_cast<int>(v);
    else if (a == "--seconds")
      o.seconds = v;
    else if (a == "--server-threads")
      o.server_threads = static_cast<int>(v);
    else if (a == "--client-threads")
      o.client_threads = static_cast<int>(v);
    else {
      std::fprintf(stderr, "socket_floor: unknown option %s (--help)\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

// Busy and total jiffies of the whole machine.
struct MachineTime {
  std::uint64_t busy = 0, total = 0;
};
MachineTime machine_time() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  MachineTime t;
  std::uint64_t v;
  for (int i = 0; i < 8 && (in >> v); ++i) {  // user nice system idle iowait irq softirq steal
    t.total += v;
    if (i != 3 && i != 4) t.busy += v;
  }
  return t;
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void set_nonblocking_nodelay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("O_NONBLOCK");
}

// What one thread did during the measured window.
struct Tally {
  double cpu_s = 0;
  std::uint64_t written = 0, read_bytes = 0, would_block = 0;
  std::uint64_t ticks = 0, on_time = 0, skipped = 0;
};

struct Window {
  Clock::time_point start, measure_from, end;
};

// A thread's share of the measured window: its tally starts over when the window opens, and its
// CPU time is counted from then.
struct Meter {
  bool open = false;
  double cpu0 = 0;
  // False once the window has closed.
  bool running(const Window& w, Tally& t) {
    const auto now = Clock::now();
    if (now >= w.end) return false;
    if (!open && now >= w.measure_from) {
      open = true;
      cpu0 = thread_cpu_s();
      t = Tally{};
    }
    return true;
  }
  void stop(Tally& t) const { t.cpu_s = thread_cpu_s() - cpu0; }
};

// Reads everything waiting on the ready descriptors; returns bytes read.
std::uint64_t drain(int epfd, std::vector<epoll_event>& events, int timeout_ms) {
  static thread_local char buf[64 * 1024];
  std::uint64_t bytes = 0;
  const int n = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
  for (int i = 0; i < n; ++i) {
    for (;;) {
      const ssize_t r = read(events[i].data.fd, buf, sizeof buf);
      if (r > 0) {
        bytes += static_cast<std::uint64_t>(r);
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      break;  // EAGAIN, or the peer closed (not expected before the end)
    }
  }
  return bytes;
}

int make_epoll(const std::vector<int>& fds) {
  const int epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  for (int fd : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  return epfd;
}

// The gateway's half: a frame to every connection each tick, actions read as they come.
void serve(const std::vector<int>& fds, const Options& o, const Window& w, Tally& t) {
  const int epfd = make_epoll(fds);
  std::vector<epoll_event> events(1024);
  const std::string frame(static_cast<std::size_t>(o.frame_bytes), 'f');
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.tick_hz));
  auto due = w.start + period;
  Meter meter;
  while (meter.running(w, t)) {
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()).count();
    t.read_bytes += drain(epfd, events, static_cast<int>(std::max<long>(0, wait_ms)));
    if (Clock::now() < due) continue;
    for (int fd : fds) {
      const ssize_t r = write(fd, frame.data(), frame.size());
      if (r == static_cast<ssize_t>(frame.size()))
        ++t.written;
      else
        ++t.would_block;  // a full send buffer: the reader fell behind
    }
    const auto done = Clock::now();
    ++t.ticks;
    if (done < due + period) ++t.on_time;
    due += period;
    while (due + period <= done) {  // a whole period behind: those due times are missed
      due += period;
      ++t.skipped;
    }
  }
  meter.stop(t);
  close(epfd);
}

// The load generator's half: actions at the players' rate, frames read as they come.
void play(const std::vector<int>& fds, const Options& o, const Window& w, Tally& t) {
  const int epfd = make_epoll(fds);
  std::vector<epoll_event> events(1024);
  const std::string action(static_cast<std::size_t>(o.action_bytes), 'a');
  const double per_s = o.actions_per_s * static_cast<double>(fds.size());
  std::uint64_t sent = 0;
  Meter meter;
  while (meter.running(w, t)) {
    t.read_bytes += drain(epfd, events, 1);
    const double elapsed = std::chrono::duration<double>(Clock::now() - w.start).count();
    const auto due = static_cast<std::uint64_t>(elapsed * per_s);
    for (; sent < due; ++sent) {
      const ssize_t r = write(fds[sent % fds.size()], action.data(), action.size());
      if (r == static_cast<ssize_t>(action.size()))
        ++t.written;
      else
        ++t.would_block;
    }
  }
  meter.stop(t);
  close(epfd);
}

// Writes all of a POD value to a pipe, or reads it.
template <typename T>
void send_pod(int fd, const T& v) {
  if (write(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) die("pipe write");
}
template <typename T>
T receive_pod(int fd) {
  T v{};
  if (read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) die("pipe read");
  return v;
}

void raise_open_files(int needed) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  const auto need = static_cast<rlim_t>(needed);
  if (lim.rlim_cur >= need) return;
  lim.rlim_cur = need;
  lim.rlim_max = std::max(lim.rlim_max, need);
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    die("raising the open-files limit to " + std::to_string(need) + " (ulimit -n)");
  }
}

std::vector<std::vector<int>> split(const std::vector<int>& fds, int parts) {
  std::vector<std::vector<int>> out(static_cast<std::size_t>(parts));
  for (std::size_t i = 0; i < fds.size(); ++i)
    out[i % out.size()].push_back(fds[i]);
  return out;
}

// Runs `work` on each part on its own thread and sums what they did.
template <typename Work>
Tally run_threads(const std::vector<std::vector<int>>& parts, Work work) {
  std::vector<Tally> tallies(parts.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < parts.size(); ++i)
    threads.emplace_back([&, i] { work(parts[i], tallies[i]); });
  for (auto& t : threads)
    t.join();
  Tally sum;
  for (const Tally& t : tallies) {
    sum.cpu_s += t.cpu_s;
    sum.written += t.written;
    sum.read_bytes += t.read_bytes;
    sum.would_block += t.would_block;
    sum.ticks += t.ticks;
    sum.on_time += t.on_time;
    sum.skipped += t.skipped;
  }
  return sum;
}

}  // namespace

// Two processes, as the node and the load generator are: the child accepts the connections and
// plays the server, the parent connects and plays the clients (each needs N descriptors).
int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  raise_open_files(o.players + 64);
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  if (listen(listener, 4096) != 0) die("listen");
  int to_server[2], from_server[2];
  if (pipe(to_server) != 0 || pipe(from_server) != 0) die("pipe");

  const pid_t server = fork();
  if (server < 0) die("fork");
  if (server == 0) {
    std::vector<int> fds;
    for (int i = 0; i < o.players; ++i) {
      const int fd = accept(listener, nullptr, nullptr);
      if (fd < 0) die("accept");
      set_nonblocking_nodelay(fd);
      fds.push_back(fd);
    }
    send_pod(from_server[1], 'r');  // ready
    const Window w = receive_pod<Window>(to_server[0]);
    const Tally t = run_threads(split(fds, o.server_threads),
                                [&](const auto& part, Tally& out) { serve(part, o, w, out); });
    send_pod(from_server[1], t);
    std::_Exit(0);
  }
  close(listener);
  std::vector<int> fds;
  for (int i = 0; i < o.players; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    set_nonblocking_nodelay(fd);
    fds.push_back(fd);
  }
  (void)receive_pod<char>(from_server[0]);
  Window w;
  w.start = Clock::now() + std::chrono::milliseconds(100);
  w.measure_from = w.start + std::chrono::seconds(1);
  w.end = w.measure_from +
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  send_pod(to_server[1], w);
  MachineTime m0, m1;
  std::thread clock_reader([&] {
    std::this_thread::sleep_until(w.measure_from);
    m0 = machine_time();
    std::this_thread::sleep_until(w.end);
    m1 = machine_time();
  });
  std::this_thread::sleep_until(w.start);
  const Tally c = run_threads(split(fds, o.client_threads),
                              [&](const auto& part, Tally& out) { play(part, o, w, out); });
  clock_reader.join();
  const Tally s = receive_pod<Tally>(from_server[0]);
  waitpid(server, nullptr, 0);

  const double secs = o.seconds;
  const double cores = static_cast<double>(std::thread::hardware_concurrency());
  const double machine_busy = m1.total > m0.total ? cores * static_cast<double>(m1.busy - m0.busy) /
                                                        static_cast<double>(m1.total - m0.total)
                                                  : 0;
  const double frames_in = static_cast<double>(c.read_bytes) / o.frame_bytes / secs;
  const double actions_in = static_cast<double>(s.read_bytes) / o.action_bytes / secs;
  const double messages = (static_cast<double>(s.written) + static_cast<double>(c.written)) / secs;
  std::printf(
      "players %d, %.0f Hz, %.0f actions/s each; frames %d B, actions %d B; %d server + %d "
      "client threads; %.0f s measured\n",
      o.players, o.tick_hz, o.actions_per_s, o.frame_bytes, o.action_bytes, o.server_threads,
      o.client_threads, secs);
  std::printf(
      "frames:  %.0f/s written (%.0f offered), %.0f/s read, %llu not written (buffer "
      "full)\n",
      static_cast<double>(s.written) / secs, o.players * o.tick_hz, frames_in,
      static_cast<unsigned long long>(s.would_block));
  std::printf("actions: %.0f/s written (%.0f offered), %.0f/s read\n",
              static_cast<double>(c.written) / secs, o.players * o.actions_per_s, actions_in);
  const double on_time = s.ticks + s.skipped > 0 ? 100.0 * static_cast<double>(s.on_time) /
                                                       static_cast<double>(s.ticks + s.skipped)
                                                 : 0;
  std::printf("ticks:   %.2f %% on time (%llu ticks, %llu due times skipped)\n", on_time,
              static_cast<unsigned long long>(s.ticks), static_cast<unsigned long long>(s.skipped));
  std::printf(
      "cpu:     server %.2f cores, client %.2f cores, machine %.2f of %.0f cores busy; "
      "%.1f us of machine time per message\n",
      s.cpu_s / secs, c.cpu_s / secs, machine_busy, cores,
      messages > 0 ? 1e6 * machine_busy / messages : 0);
  for (int fd : fds)
    close(fd);
  return 0;
}
