// actbench: every (variant, shape) of the registry as a Google Benchmark run.
//
// For each benchmark: inputs and the double reference are built once per (family, element
// type, shape) and shared by its variants; the variant runs once and is compared with the reference (a
// mismatch is SkipWithError("mismatch: ...") and a non-zero exit once the log is written);
// then it is timed: GPU variants with CUDA events around the launch alone, the L2 flushed
// before each iteration unless --warm; CPU variants with a steady clock around the call.
// Counters: bytes_per_second (ideal bytes of the variant's element type: inputs read once,
// outputs written once), pct_copy_bw (against the bandwidth of a copy of elements of the same
// size, measured at start-up in the same run), and the verification's max_abs_err /
// max_rel_err / max_ulp_err (in ulps of the type).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "actbench_version.h"
#include "host/compare.h"
#include "host/gpu.h"
#include "host/inputs.h"
#include "host/reference.h"
#include "host/runner.h"
#include "host/timer.h"
#include "kernels/registry.h"

namespace actbench {
namespace {

constexpr const char* kUsage = R"(usage: actbench [options] [Google Benchmark flags]

Runs every registered (variant, shape), verified against the CPU reference, and prints or
logs the results. Without a GPU the CPU benchmarks run and the GPU ones are skipped.

options:
  --list             print every registered variant with its summary and exit (and the
                     variants this build or CPU cannot run, with the reason)
  --quick            a small sweep (143 benchmarks without a GPU), 16 repetitions
  --n=N[,N...]       elementwise/copy sizes instead of the default sweep (N or 2^K, each once)
  --shape=RxC[,...]  rows x cols for the bias, gated and softmax families instead of the
                     sweep (cols: the output's; a gated family's x is R x 2C)
  --device=N         the GPU to use (default 0; not checked when no GPU is visible)
  --warm             do not flush the L2 before each timed iteration
  --help             this text
  --inject-mismatch=FAMILY/VARIANT/TYPE
                     corrupt one output element of that variant before verification
                     (tests the failure path: the run must log and exit 1)

Benchmark names are FAMILY/VARIANT/TYPE/n:N or FAMILY/VARIANT/TYPE/rows:R/cols:C, TYPE one of
f32, f16, bf16. Google Benchmark flags pass through, e.g. --benchmark_filter='^softmax/.*/bf16/',
--benchmark_out=run.json (checked before the run; written whole or not at all, also when the
run is interrupted), --benchmark_repetitions=5 (at least 1), --benchmark_min_time=0.05 (bare
seconds). Defaults: 5 repetitions of min_time 0.02 s, interleaved (--quick: 16 of min_time
0.007 s, about 10 ms a repetition). The console shows a table, one line per benchmark: time of
one call (the median of the repetitions), iterations or repetitions, their cv, GB/s, % of the
copy bandwidth, max absolute error; a failed benchmark, one ERROR line. The log is JSON
whatever --benchmark_format/--benchmark_out_format say.
Exit status: 0 all verified, 1 a mismatch or a failure in some benchmark, 2 bad usage or a
fatal error; SIGINT, SIGTERM, SIGHUP and SIGPIPE end it as the signal does, after removing
the unfinished log.
)";

struct Shape {
  int64_t rows, cols;
  bool operator==(const Shape& o) const { return rows == o.rows && cols == o.cols; }
};

// The median of a non-empty sample (the mean of the two middle values for an even count).
double median(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  if (v.size() % 2 == 1) return v[mid];
  return 0.5 * (v[mid] + *std::max_element(v.begin(), v.begin() + mid));
}

struct Options {
  bool list = false, quick = false, warm = false;
  int device = 0;
  bool device_given = false;   // --device on the command line (noted when there is no GPU)
  std::vector<int64_t> sizes;  // --n
  std::vector<Shape> shapes;   // --shape
  std::string out;             // --benchmark_out, written through a temporary file
  std::string inject_mismatch; // variant id whose verified output is corrupted (tests only)
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "actbench: %s\n(actbench --help lists the options)\n", message.c_str());
  std::exit(2);
}

// A positive integer, or 2^K; at most 2^34 (64 GiB of floats).
int64_t parse_count(const std::string& text, const std::string& flag) {
  const bool power = text.rfind("2^", 0) == 0;
  const std::string digits = power ? text.substr(2) : text;
  if (digits.empty() || digits.size() > 12 || digits.find_first_not_of("0123456789") != std::string::npos) {
    usage_error(flag + ": '" + text + "' is not a positive integer or 2^K");
  }
  const int64_t value = std::stoll(digits);
  if (power && value > 34) usage_error(flag + ": '" + text + "' is too large (at most 2^34)");
  const int64_t count = power ? int64_t{1} << value : value;
  if (count < 1 || count > (int64_t{1} << 34)) {
    usage_error(flag + ": '" + text + "' is out of range (1 .. 2^34)");
  }
  return count;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, sep);) parts.push_back(part);
  return parts;
}

// The comma-separated items of a list flag's value, each parsed by `parse`. An empty value, an
// empty item ("7,,8", "7,") and an item equal to an earlier one (also across repeated flags,
// and by value: 1024 and 2^10) are usage errors: each would silently change the sweep or
// register two benchmarks of one name.
template <class T, class Parse>
void append_list(std::vector<T>& list, const std::string& text, const std::string& flag, Parse parse) {
  if (text.empty()) usage_error(flag + "= is empty: give one value or a comma-separated list");
  if (text.back() == ',') usage_error(flag + ": '" + text + "' ends with a comma");
  for (const std::string& item : split(text, ',')) {
    if (item.empty()) usage_error(flag + ": '" + text + "' has an empty item");
    const T value = parse(item);
    for (const T& seen : list) {
      if (seen == value) {
        usage_error(flag + ": '" + item + "' is listed twice (in '" + text + "' or an earlier " + flag + ")");
      }
    }
    list.push_back(value);
  }
}

// Google Benchmark matches filters against its internal names, which end in "/manual_time";
// the names users see (and logs hold) do not. An end anchor `$` is widened to allow the
// suffix, so that '^relu/warp/n:1024$' selects the benchmark it names. The rewritten flag
// lives as long as the process, as argv entries must (a deque never moves its elements).
char* filter_on_registered_names(const char* flag) {
  static std::deque<std::string> storage;
  std::string out;
  for (const char* c = flag; *c; ++c) {
    if (*c == '$' && (c == flag || c[-1] != '\\')) {
      out += "(/manual_time)?$";
    } else {
      out += *c;
    }
  }
  storage.push_back(out);
  return storage.back().data();
}

// Consumes actbench's own flags; leaves Google Benchmark's (and unknown ones) in argv.
Options parse_options(int& argc, char** argv) {
  Options o;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value_of = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      if (arg == flag) {
        if (i + 1 >= argc) usage_error(flag + " needs a value");
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--list") {
      o.list = true;
    } else if (arg == "--quick") {
      o.quick = true;
    } else if (arg == "--warm") {
      o.warm = true;
    } else if (auto dev = value_of("--device")) {
      if (dev->empty() || dev->size() > 3 || dev->find_first_not_of("0123456789") != std::string::npos) {
        usage_error("--device: '" + *dev + "' is not a device index");
      }
      o.device = std::stoi(*dev);
      o.device_given = true;
    } else if (auto sizes = value_of("--n")) {
      append_list(o.sizes, *sizes, "--n", [](const std::string& n) { return parse_count(n, "--n"); });
    } else if (auto shapes = value_of("--shape")) {
      append_list(o.shapes, *shapes, "--shape", [](const std::string& s) {
        const std::vector<std::string> rc = split(s, 'x');
        if (rc.size() != 2) usage_error("--shape: '" + s + "' is not ROWSxCOLS");
        const Shape shape{parse_count(rc[0], "--shape"), parse_count(rc[1], "--shape")};
        if (shape.cols > (int64_t{1} << 31) - 1) usage_error("--shape: cols must fit in 32 bits");
        return shape;
      });
    } else if (auto id = value_of("--inject-mismatch")) {
      if (!find_variant(*id)) usage_error("--inject-mismatch: no variant '" + *id + "' (see --list)");
      o.inject_mismatch = *id;
    } else if (arg.rfind("--benchmark_filter=", 0) == 0) {
      argv[kept++] = filter_on_registered_names(argv[i]);
    } else if (arg.rfind("--benchmark_out=", 0) == 0) {
      o.out = arg.substr(std::string("--benchmark_out=").size());
      if (o.out.empty()) usage_error("--benchmark_out needs a file name");
    } else if (arg.rfind("--benchmark_repetitions=", 0) == 0) {
      // Google Benchmark runs nothing at 0 (an empty log) and misreads a negative count.
      const std::string reps = arg.substr(std::string("--benchmark_repetitions=").size());
      if (reps.empty() || reps.size() > 6 || reps.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(reps) < 1) {
        usage_error("--benchmark_repetitions: '" + reps + "' is not a positive integer (at most 999999)");
      }
      argv[kept++] = argv[i];
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return o;
}

// ---- the sweeps ----------------------------------------------------------------------------

std::vector<int64_t> powers_of_two(int from, int to, int step) {
  std::vector<int64_t> v;
  for (int k = from; k <= to; k += step) v.push_back(int64_t{1} << k);
  return v;
}

// rows x cols with rows * cols about `total` (at least one row).
std::vector<Shape> rows_for_total(const std::vector<int64_t>& cols, int64_t total) {
  std::vector<Shape> v;
  for (int64_t c : cols) v.push_back({std::max<int64_t>(1, total / c), c});
  return v;
}

// The default sweep of a family in one type. f32 and bf16 run every shape (bf16 is the type
// the 16-bit targets are stated in); the 16-bit types leave out what f32 already says: on the
// GPU the elementwise sizes below 2^20 but one (launch-bound: the type changes only the
// bytes) and 2^22, and f16's softmax 11 of the 20 row lengths (one each side of the
// vector, warp, block and online boundaries) plus the long rows; on the CPU 2^20 (in cache
// like 2^16) and the largest elementwise size (memory-bound there from 2^24). The gated
// families sweep the bias families' rows on the GPU (4099: rows no 16-byte vector path
// reaches), one row length in cache and one in memory on the CPU (where bias_* have no
// baseline), and a single shape under --quick. --quick takes its shapes in f32 and the largest
// of them in f16 and bf16 (what a 16-bit type changes, the bytes and the conversions, shows at
// any shape): 143 CPU benchmarks rather than 210, so that its 16 repetitions a benchmark stay
// well within a minute on the 2-core build machine.
std::vector<Shape> sweep(const Family& f, Device device, DType t, const Options& o) {
  const bool gpu = device == Device::Gpu;
  const bool f32 = t == DType::F32;
  if (!f.row_shaped) {
    std::vector<int64_t> sizes = o.sizes;
    if (sizes.empty()) {
      sizes = o.quick ? (f32 ? std::vector<int64_t>{1 << 10, 1 << 16} : std::vector<int64_t>{1 << 16})
              : gpu   ? (f32 ? powers_of_two(10, 28, 2)
                             : std::vector<int64_t>{1 << 12, 1 << 20, 1 << 24, 1 << 26, 1 << 28})
              : f32   ? std::vector<int64_t>{1 << 16, 1 << 20, 1 << 24, 1 << 26}
                      : std::vector<int64_t>{1 << 16, 1 << 24};
    }
    std::vector<Shape> v;
    for (int64_t n : sizes) v.push_back({1, n});
    return v;
  }
  if (!o.shapes.empty()) return o.shapes;
  if (o.quick) {
    if (f.gated) return rows_for_total({1024}, 1 << 16);
    return rows_for_total(f32 ? std::vector<int64_t>{32, 1000, 4096} : std::vector<int64_t>{4096}, 1 << 16);
  }
  if (f.gated && !gpu) return {{64, 1024}, {16384, 1024}};
  if (f.bias || f.gated) {
    if (!gpu) return {};
    std::vector<Shape> v = rows_for_total({768, 1024, 4096, 4099}, 1 << 26);
    v.push_back({1024, 1024});
    return v;
  }
  if (!gpu) return {{16384, 1024}, {256, 65536}};
  std::vector<int64_t> cols = {32,   64,   128,  256,  512,   1000,  1023,  1024,  1025,   2047,
                               2048, 2049, 4096, 8192, 16384, 32768, 50257, 65536, 131072, 262144};
  if (t == DType::F16) cols = {32, 128, 512, 1024, 1025, 2048, 4096, 16384, 32768, 50257, 262144};
  std::vector<Shape> v = rows_for_total(cols, 1 << 26);
  for (int64_t rows : {1, 8, 64}) v.push_back({rows, 1 << 20});
  return v;
}

std::string benchmark_name(const Variant& v, const Shape& s) {
  std::string name = v.id() + "/";
  if (!v.family->row_shaped) return name + "n:" + std::to_string(s.cols);
  return name + "rows:" + std::to_string(s.rows) + "/cols:" + std::to_string(s.cols);
}

// Ideal traffic in elements of type t: every input read once, every output written once (a
// gated family: x's two halves and y, three tensors of rows x cols; a backward family: the
// saved tensor and dy read, dx written, three tensors, and a bias backward family's dbias).
double ideal_bytes(const Family& f, DType t, const Shape& s) {
  const double rows = static_cast<double>(s.rows);
  const double outputs = rows * static_cast<double>(s.cols);
  const double inputs = rows * static_cast<double>(input_cols(f, s.cols)) + (f.backward ? outputs : 0.0);
  return static_cast<double>(dtype_bytes(t)) * (inputs + outputs + (f.bias ? static_cast<double>(s.cols) : 0.0));
}

// ---- run-wide state ------------------------------------------------------------------------

// Host memory of CPU variants' operands, each buffer starting on a page of its own. From the
// heap, a buffer's offset within its page depends on everything allocated before it, which
// Google Benchmark's interleaving orders at random, and each repetition allocates its output
// anew: the output's distance to its input modulo 4 KiB (whether stores falsely alias the
// loads that follow them) then changed from one repetition to the next. On pages of their own,
// every repetition and every run lays the operands out alike: on the 2-core build machine the
// median robust cv of a --quick run's benchmarks fell from 7-13% to 3-5% (six runs each).
class HostBuffer {
 public:
  static constexpr size_t kPage = 4096;
  // Zeroed (outputs and workspaces, as a std::vector's would be), or left as allocated for a
  // buffer the caller fills at once.
  enum class Fill { Zero, None };
  HostBuffer() = default;
  explicit HostBuffer(size_t bytes, Fill fill = Fill::Zero)
      : data_(bytes ? static_cast<unsigned char*>(std::aligned_alloc(kPage, (bytes + kPage - 1) / kPage * kPage))
                    : nullptr),
        bytes_(bytes) {
    if (bytes && !data_) throw std::bad_alloc();
    if (bytes && fill == Fill::Zero) std::memset(data_.get(), 0, bytes);
  }
  unsigned char* data() const { return data_.get(); }
  size_t size() const { return bytes_; }
  bool empty() const { return bytes_ == 0; }

 private:
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char, Free> data_;
  size_t bytes_ = 0;
};

// The elements of type t of `values`, on pages of their own.
HostBuffer host_elements(DType t, const std::vector<float>& values) {
  HostBuffer b(values.size() * dtype_bytes(t), HostBuffer::Fill::None);  // encode writes every byte
  encode(t, values.data(), static_cast<int64_t>(values.size()), b.data());
  return b;
}

// Inputs, reference and (for GPU variants) device copies of one (family, type, shape), shared
// by every benchmark of that shape (Session::prepared keeps the recent ones). The inputs are
// kept as values (for the runner) and as elements of the type (what CPU variants read).
struct Prepared {
  const Family* family = nullptr;
  DType type = DType::F32;
  Shape shape{0, 0};
  bool on_gpu = false;
  Case input;
  HostBuffer x_elements, bias_elements, dy_elements;
  Expected reference;
  DeviceBuffer x, bias, dy;

  bool is(const Family& f, DType t, const Shape& s) const { return family == &f && type == t && shape == s; }
  size_t host_bytes() const {
    return (input.x.size() + input.bias.size() + input.dy.size()) * sizeof(float) + x_elements.size() +
           bias_elements.size() + dy_elements.size() +
           (reference.value.size() + reference.bound.size()) * sizeof(double);
  }
  size_t device_bytes() const { return x.bytes() + bias.bytes() + dy.bytes(); }
};

// Host bytes of a (family, type, shape)'s inputs and reference, before it is built.
size_t prepared_host_bytes(const Family& f, DType t, const Shape& s) {
  const size_t outputs = static_cast<size_t>(s.rows) * static_cast<size_t>(s.cols);
  const size_t elements = static_cast<size_t>(s.rows) * static_cast<size_t>(input_cols(f, s.cols)) +
                          (f.bias ? static_cast<size_t>(s.cols) : 0) + (f.backward ? outputs : 0);
  // The reference's values, and its bounds where the outputs are sums (at most as many).
  const size_t reference = static_cast<size_t>(output_count(f, s.rows, s.cols)) * (f.backward ? 2 : 1);
  return elements * (sizeof(float) + dtype_bytes(t)) + reference * sizeof(double);
}

struct Session {
  Options options;
  GpuStatus gpu;
  DeviceInfo info;
  cudaStream_t stream = nullptr;
  std::unique_ptr<GpuTimer> timer;
  // Bytes per second of a copy of elements of each type's size, indexed by DType.
  double gpu_copy_bw[std::size(kDTypes)] = {}, cpu_copy_bw[std::size(kDTypes)] = {};
  bool failed = false;
  // The (family, type, shape)s prepared most recently, most recent first, within half of the
  // host's memory and a quarter of the GPU's: Google Benchmark's interleaved repetitions come
  // back to a shape many times, and a 2^26-element case with its double reference (1.25 GB)
  // takes seconds to build. Seven families at 2^26 in f32 thrashed a quarter of 24 GB.
  std::list<Prepared> prepared;
  size_t host_budget = 0, device_budget = 0;
  std::map<std::string, Comparison> verified;  // by benchmark name

  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (stream) cudaStreamDestroy(stream);
  }

  // Drops the least recently used entries (never the first) until `host` more host bytes and
  // `device` more device bytes fit in the budgets.
  void make_room(size_t host, size_t device) {
    auto total = [&](size_t (Prepared::*bytes)() const) {
      size_t sum = 0;
      for (const Prepared& p : prepared) sum += (p.*bytes)();
      return sum;
    };
    while (prepared.size() > 1 && (total(&Prepared::host_bytes) + host > host_budget ||
                                   total(&Prepared::device_bytes) + device > device_budget)) {
      prepared.pop_back();
    }
  }

  const Prepared& prepare(const Family& f, DType t, const Shape& s, bool on_gpu) {
    const auto found =
        std::find_if(prepared.begin(), prepared.end(), [&](const Prepared& p) { return p.is(f, t, s); });
    if (found != prepared.end()) {
      prepared.splice(prepared.begin(), prepared, found);
    } else {
      prepared.emplace_front();
      make_room(prepared_host_bytes(f, t, s), 0);
      Prepared& p = prepared.front();
      p.family = &f;
      p.type = t;
      p.shape = s;
      p.input = make_case(f, t, s.rows, s.cols, 20261127);
      p.x_elements = host_elements(t, p.input.x);
      p.bias_elements = host_elements(t, p.input.bias);
      p.dy_elements = host_elements(t, p.input.dy);
      p.reference = reference(f, t, p.input);
    }
    Prepared& p = prepared.front();
    if (on_gpu && !p.on_gpu) {
      make_room(0, p.x_elements.size() + p.bias_elements.size() + p.dy_elements.size());
      // On the timing stream, then waited for: a pageable cudaMemcpy may return before its
      // DMA lands, and the non-blocking timing stream is not ordered after it.
      auto upload = [&](DeviceBuffer& to, const HostBuffer& from) {
        to = DeviceBuffer(from.size());
        if (!from.empty()) {
          ACT_CUDA_CHECK(cudaMemcpyAsync(to.get(), from.data(), from.size(), cudaMemcpyHostToDevice, stream));
        }
      };
      upload(p.x, p.x_elements);
      upload(p.bias, p.bias_elements);
      upload(p.dy, p.dy_elements);
      ACT_CUDA_CHECK(cudaStreamSynchronize(stream));
      p.on_gpu = true;
    }
    return p;
  }

  // Seconds of one call of v on p: CUDA events around the launch alone on the GPU (the L2
  // flushed first unless --warm), a steady clock around the call on the CPU.
  double seconds_of(const Variant& v, const Problem& p) {
    if (v.device == Device::Gpu) return 1e-3 * timer->time_ms([&] { v.launch(p); });
    const auto t0 = std::chrono::steady_clock::now();
    v.launch(p);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // The variant's output on `in` against the reference, computed once per benchmark:
  // Google Benchmark calls a benchmark several times (growing iteration counts, repetitions).
  const Comparison& verify(const Variant& v, const Shape& shape, const Prepared& in) {
    const std::string key = benchmark_name(v, shape);
    if (const auto it = verified.find(key); it != verified.end()) return it->second;
    std::vector<float> got = run_once(v, in.input);
    if (v.id() == options.inject_mismatch) {  // NaN where the reference is a number, else 0
      const size_t mid = got.size() / 2;
      got[mid] = std::isnan(in.reference.value[mid]) ? 0.0f : std::nanf("");
    }
    return verified.emplace(key, compare(got, in.reference, v.tol, v.dtype)).first->second;
  }
};

Session* g_session = nullptr;  // the one run; benchmarks are plain functions of it

void run_benchmark(benchmark::State& state, const Variant& v, Shape shape) {
  Session& s = *g_session;
  const bool on_gpu = v.device == Device::Gpu;
  state.SetLabel(on_gpu ? "gpu" : "cpu");
  try {
    const Prepared& in = s.prepare(*v.family, v.dtype, shape, on_gpu);
    const Comparison& check = s.verify(v, shape, in);
    if (!check.ok()) {
      s.failed = true;
      state.SkipWithError(check.describe(v.tol).c_str());
      return;
    }
    const int64_t count = shape.rows * shape.cols;
    const size_t y_bytes = static_cast<size_t>(count) * dtype_bytes(v.dtype);
    const size_t dbias_bytes = static_cast<size_t>(output_count(*v.family, shape.rows, shape.cols) - count) *
                               dtype_bytes(v.dtype);
    DeviceBuffer device_y, device_dbias, device_workspace;
    HostBuffer host_y, host_dbias, host_workspace;
    Problem p;
    if (on_gpu) {
      device_y = DeviceBuffer(y_bytes);
      device_dbias = DeviceBuffer(dbias_bytes);
      device_workspace = DeviceBuffer(v.workspace(shape.rows, shape.cols));
      p = {in.x.get(), in.bias.bytes() ? in.bias.get() : nullptr, device_y.get(),
           shape.rows, shape.cols, device_workspace.get(), s.stream};
      p.dy = in.dy.bytes() ? in.dy.get() : nullptr;
      p.dbias = dbias_bytes ? device_dbias.get() : nullptr;
    } else {
      host_y = HostBuffer(y_bytes);
      host_dbias = HostBuffer(dbias_bytes);
      host_workspace = HostBuffer(v.workspace(shape.rows, shape.cols));
      p = {in.x_elements.data(), in.bias_elements.empty() ? nullptr : in.bias_elements.data(), host_y.data(),
           shape.rows, shape.cols, host_workspace.data(), nullptr};
      p.dy = in.dy_elements.empty() ? nullptr : in.dy_elements.data();
      p.dbias = dbias_bytes ? host_dbias.data() : nullptr;
    }
    s.seconds_of(v, p);  // warm-up: first-touch, lazy library initialization, instruction cache
    if (on_gpu) s.timer->take_late();
    std::vector<double> calls;
    calls.reserve(static_cast<size_t>(state.max_iterations));
    for (auto _ : state) {
      calls.push_back(s.seconds_of(v, p));
      state.SetIterationTime(calls.back());
    }
    // The median call, as for the copy roofline it is divided by (and as torch_compare.py
    // times its peers): one statistic for every figure that is a ratio of two.
    const double bytes = ideal_bytes(*v.family, v.dtype, shape);  // per call: the working set
    const double bytes_per_second = bytes / median(std::move(calls));
    const auto t = static_cast<size_t>(v.dtype);
    const double roofline = on_gpu ? s.gpu_copy_bw[t] : s.cpu_copy_bw[t];
    state.counters["bytes_per_second"] = bytes_per_second;
    state.counters["ideal_bytes"] = bytes;
    state.counters["pct_copy_bw"] = 100.0 * bytes_per_second / roofline;
    state.counters["max_abs_err"] = check.max_abs_err;
    state.counters["max_rel_err"] = check.max_rel_err;
    state.counters["max_ulp_err"] = check.max_ulp_err;
    state.counters["tol_used"] = check.tol_used;  // worst error / its bound: 1 = failing
    if (on_gpu) {  // share of calls the GPU reached before the launch was queued (see GpuTimer)
      const auto [late, timed] = s.timer->take_late();
      state.counters["late_launch"] = timed ? static_cast<double>(late) / static_cast<double>(timed) : 0.0;
    }
  } catch (const std::exception& e) {
    s.failed = true;
    state.SkipWithError(e.what());
  }
}

// Bandwidth of the median of `reps` calls of the registry's copy variant of type t over 2^26
// elements (or fewer when memory is short), after one warm-up call: the roofline every
// pct_copy_bw of that type divides by, timed as the variants are (the same timer, the same
// statistic).
double measure_copy_bw(Session& s, Device device, DType t) {
  const std::string id = std::string(device == Device::Gpu ? "copy/cuda_memcpy/" : "copy/cpu_memcpy/") + dtype_name(t);
  const Variant* copy = find_variant(id);
  if (!copy) throw std::logic_error("registry has no " + id);
  const size_t size = dtype_bytes(t);
  int64_t n = int64_t{1} << 26;
  if (device == Device::Gpu) {
    while (n > (1 << 20) && 3 * n * size > free_device_bytes()) n /= 2;
  }
  auto median_of = [&](const Problem& p, int reps) {
    s.seconds_of(*copy, p);
    std::vector<double> calls;
    for (int rep = 0; rep < reps; ++rep) calls.push_back(s.seconds_of(*copy, p));
    return median(std::move(calls));
  };
  double seconds = 0.0;
  if (device == Device::Gpu) {
    DeviceBuffer x(n * size), y(n * size);
    ACT_CUDA_CHECK(cudaMemsetAsync(x.get(), 0, x.bytes(), s.stream));
    seconds = median_of({x.get(), nullptr, y.get(), 1, n, nullptr, s.stream}, 21);
  } else {
    std::vector<unsigned char> x(n * size, 1), y(n * size);
    seconds = median_of({x.data(), nullptr, y.data(), 1, n, nullptr, nullptr}, 7);
  }
  return ideal_bytes(*copy->family, t, Shape{1, n}) / seconds;
}

// ---- reporting -----------------------------------------------------------------------------

// Google Benchmark appends "/manual_time" to the name of every manually timed benchmark;
// every benchmark here is, so the suffix says nothing and would break the naming contract
// (family/variant/shape). Both reporters print the names as registered.
template <class Reporter>
class RegisteredNames : public Reporter {
 public:
  using Reporter::Reporter;
  void ReportRuns(const std::vector<benchmark::BenchmarkReporter::Run>& runs) override {
    std::vector<benchmark::BenchmarkReporter::Run> renamed = runs;
    for (auto& run : renamed) run.run_name.time_type.clear();
    Reporter::ReportRuns(renamed);
  }
};

// The console's table: one line per benchmark as it completes, every column labelled and every
// figure in its unit: time of one call, iterations (or repetitions), their cv, effective GB/s,
// percent of the copy bandwidth, the largest absolute error of the verification. With
// repetitions, a benchmark's line is their median (Google Benchmark's median aggregate, over this
// process's repetitions) with their cv; its mean and stddev stay in the log, as does every
// repetition. A benchmark with a failed repetition has one ERROR line instead, saying how many
// failed and why the first did.
class ConsoleTable : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& context) override {
    PrintBasicContext(&GetErrorStream(), context);
    // Google Benchmark sizes names with the "/manual_time" that RegisteredNames drops.
    const size_t suffix = std::string("/manual_time").size();
    width_ = std::max<size_t>(context.name_field_width > suffix ? context.name_field_width - suffix : 0, 9);
    const std::string header = row("%-*s  %-6s  %13s  %10s  %7s  %9s  %9s  %11s", "benchmark", "device", "time",
                                   "iterations", "cv", "GB/s", "% of copy", "max abs err");
    GetOutputStream() << header << "\n" << std::string(header.size(), '-') << "\n";
    return true;
  }

  // Google Benchmark reports a benchmark's repetitions, then, when two or more of them succeeded,
  // their aggregates.
  void ReportRuns(const std::vector<Run>& runs) override {
    if (runs.empty()) return;
    const std::string benchmark = runs.front().run_name.str();
    if (runs.front().run_type == Run::RT_Aggregate) {
      if (benchmark == failed_) return;  // its ERROR line is out
      const auto named = [&runs](const char* aggregate) {
        return std::find_if(runs.begin(), runs.end(), [aggregate](const Run& r) { return r.aggregate_name == aggregate; });
      };
      const auto median = named("median"), cv = named("cv");
      // cv's row holds the ratio itself.
      if (median != runs.end()) line(*median, cv == runs.end() ? "-" : percent(cv->real_accumulated_time));
      return;
    }
    const auto failed = std::count_if(runs.begin(), runs.end(), [](const Run& r) { return r.error_occurred; });
    if (failed == 0) {
      if (runs.size() == 1) line(runs.front(), "-");  // else the median comes with the aggregates
      return;
    }
    failed_ = benchmark;
    const Run& first = *std::find_if(runs.begin(), runs.end(), [](const Run& r) { return r.error_occurred; });
    const std::string count =
        runs.size() == 1 ? "" : " (" + std::to_string(failed) + " of " + std::to_string(runs.size()) + " repetitions)";
    print(row("%-*s  %-6s  ERROR%s: %s", first.benchmark_name().c_str(), first.report_label.c_str(), count.c_str(),
              first.error_message.c_str()));
  }

 private:
  // One run's line: a repetition's, or a median's (whose iteration count is the repetitions').
  void line(const Run& run, const std::string& cv) {
    const bool median = run.run_type == Run::RT_Aggregate;
    const std::string time = fixed(run.GetAdjustedRealTime(), "%10.3f ") + benchmark::GetTimeUnitString(run.time_unit);
    const std::string iterations = std::to_string(run.iterations) + (median ? " reps" : "");
    print(row("%-*s  %-6s  %13s  %10s  %7s  %9s  %9s  %11s", run.benchmark_name().c_str(), run.report_label.c_str(),
              time.c_str(), iterations.c_str(), cv.c_str(), counter(run, "bytes_per_second", 1e-9, "%.2f").c_str(),
              counter(run, "pct_copy_bw", 1.0, "%.1f").c_str(), counter(run, "max_abs_err", 1.0, "%.3g").c_str()));
  }

  static std::string fixed(double value, const char* format) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, value);
    return buf;
  }

  // A ratio as a percentage; "-" for a cv of nothing (0 / 0).
  static std::string percent(double ratio) { return std::isfinite(ratio) ? fixed(100.0 * ratio, "%.1f %%") : "-"; }

  // A counter's value scaled into its column's unit, or "-" when the run has none.
  static std::string counter(const Run& run, const char* key, double scale, const char* format) {
    const auto it = run.counters.find(key);
    return it == run.counters.end() ? "-" : fixed(scale * it->second.value, format);
  }

  // One line of the table; the first field is the name column, padded to the longest name.
  template <class... Args>
  std::string row(const char* format, const char* name, Args... rest) const {
    char buf[1024];
    std::snprintf(buf, sizeof buf, format, static_cast<int>(width_), name, rest...);
    return buf;
  }

  void print(const std::string& text) { GetOutputStream() << text << std::endl; }  // as it completes

  size_t width_ = 0;
  std::string failed_;  // the last benchmark with a failed repetition
};

// ---- context -------------------------------------------------------------------------------

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The registry as JSON, so that the scripts read variants from the log itself.
std::string registry_json() {
  std::ostringstream o;
  o.precision(17);
  o << "[";
  bool first = true;
  for (const Variant& v : variants()) {
    o << (first ? "" : ",") << "{\"id\":\"" << json_escape(v.id()) << "\",\"family\":\""
      << v.family->name << "\",\"variant\":\"" << v.name << "\",\"dtype\":\"" << dtype_name(v.dtype)
      << "\",\"step\":" << v.step
      << ",\"device\":\"" << (v.device == Device::Gpu ? "gpu" : "cpu") << "\",\"summary\":\""
      << json_escape(v.summary) << "\",\"atol\":" << v.tol.atol << ",\"rtol\":" << v.tol.rtol;
    // The relative tolerance of a 16-bit type in epsilons of the type (1: within an ulp).
    if (v.dtype != DType::F32) o << ",\"ulps\":" << v.tol.rtol / dtype_epsilon(v.dtype);
    o << "}";
    first = false;
  }
  o << "]";
  return o.str();
}

std::string host_cpu() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::string host_name() {
  char name[256] = {};
  return gethostname(name, sizeof name - 1) == 0 ? name : "unknown";
}

std::string gbs(double bytes_per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", bytes_per_second / 1e9);
  return buf;
}

void add_context(const Session& s) {
  benchmark::AddCustomContext("git_sha", ACTBENCH_GIT_SHA);
  benchmark::AddCustomContext("build_type", ACTBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("host_cpu", host_cpu());
  // The f32 roofline under its old name, and each type's (the bytes of 2^26 elements of it).
  benchmark::AddCustomContext("cpu_copy_bw_gbs", gbs(s.cpu_copy_bw[0]));
  for (DType t : kDTypes) {
    benchmark::AddCustomContext(std::string("cpu_copy_bw_gbs_") + dtype_name(t), gbs(s.cpu_copy_bw[static_cast<size_t>(t)]));
  }
  // The flush is of the GPU's L2 before each timed GPU call; CPU variants are never flushed.
  benchmark::AddCustomContext("l2_flush", !s.gpu.available ? "not applicable: no GPU variants ran"
                                          : s.options.warm ? "warm"
                                                           : "cold");
  if (!s.gpu.available) {
    benchmark::AddCustomContext("machine", "cpu-" + host_name());
    benchmark::AddCustomContext("device", "none: CPU benchmarks only");
    benchmark::AddCustomContext("gpu_skipped", s.gpu.reason);
    return;
  }
  benchmark::AddCustomContext("machine", s.info.name);
  benchmark::AddCustomContext("device", s.info.name + " (CUDA device " + std::to_string(s.info.device) + ")");
  benchmark::AddCustomContext("gpu_name", s.info.name);
  benchmark::AddCustomContext("gpu_device", std::to_string(s.info.device));
  benchmark::AddCustomContext("gpu_compute_capability",
                              std::to_string(s.info.cc_major) + "." + std::to_string(s.info.cc_minor));
  benchmark::AddCustomContext("gpu_sm_count", std::to_string(s.info.sm_count));
  benchmark::AddCustomContext("gpu_l2_bytes", std::to_string(s.info.l2_bytes));
  benchmark::AddCustomContext("gpu_memory_bytes", std::to_string(s.info.total_bytes));
  benchmark::AddCustomContext("gpu_theoretical_bw_gbs", gbs(s.info.theoretical_bw_gbs * 1e9));
  benchmark::AddCustomContext("gpu_copy_bw_gbs", gbs(s.gpu_copy_bw[0]));
  for (DType t : kDTypes) {
    benchmark::AddCustomContext(std::string("gpu_copy_bw_gbs_") + dtype_name(t), gbs(s.gpu_copy_bw[static_cast<size_t>(t)]));
  }
  benchmark::AddCustomContext("cuda_driver_version", std::to_string(s.info.driver_version));
  benchmark::AddCustomContext("cuda_runtime_version", std::to_string(s.info.runtime_version));
}

// The log's reporter. It alone carries the registry in its context (for the scripts): added
// as the log's context is written, so the console, which reports first, stays readable.
class JsonLog : public RegisteredNames<benchmark::JSONReporter> {
 public:
  bool ReportContext(const Context& context) override {
    benchmark::AddCustomContext("actbench_variants", registry_json());
    return RegisteredNames<benchmark::JSONReporter>::ReportContext(context);
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    rows += runs.size();
    RegisteredNames<benchmark::JSONReporter>::ReportRuns(runs);
  }
  size_t rows = 0;  // rows written: a log without any is not kept
};

// ---- the log file --------------------------------------------------------------------------

// The log is written to a temporary next to it (FILE.tmp.<pid>) and renamed when whole. Every
// other way out removes the temporary: any exit (atexit), and SIGINT, SIGTERM, SIGHUP or
// SIGPIPE (a handler, which may only make async-signal-safe calls: hence the fixed buffer).
char g_partial_log[4096] = {};

void discard_partial_log() {
  if (g_partial_log[0] != '\0') unlink(g_partial_log);
}

void on_interrupt(int sig) {
  discard_partial_log();
  constexpr char kNote[] = "actbench: interrupted; the unfinished log was removed\n";
  [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, kNote, sizeof kNote - 1);
  signal(sig, SIG_DFL);
  raise(sig);  // end as the signal would have, so the caller sees which one
}

// Creates the temporary before anything runs: a log that cannot be written (no such folder, no
// permission) is a usage error naming the file given, not a failure once the run is over.
void open_partial_log(const std::string& out, const std::string& tmp) {
  struct stat st {};
  if (stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) usage_error("--benchmark_out=" + out + " is a folder");
  if (tmp.size() >= sizeof g_partial_log) usage_error("--benchmark_out=" + out + ": the name is too long");
  std::memcpy(g_partial_log, tmp.c_str(), tmp.size() + 1);
  std::atexit(discard_partial_log);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    struct sigaction old {};
    sigaction(sig, nullptr, &old);
    if (old.sa_handler == SIG_IGN) continue;  // ignored by the caller (a shell's background job)
    struct sigaction act {};
    act.sa_handler = on_interrupt;
    sigemptyset(&act.sa_mask);
    sigaction(sig, &act, nullptr);
  }
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    g_partial_log[0] = '\0';
    usage_error("--benchmark_out=" + out + ": cannot create a file there (" + why + ")");
  }
  close(fd);
}

// Moves the whole log to its name; from then on there is no temporary to remove.
void keep_partial_log(const std::string& out) {
  if (std::rename(g_partial_log, out.c_str()) != 0) {
    usage_error("--benchmark_out=" + out + ": cannot move the log there (" + std::strerror(errno) + ")");
  }
  g_partial_log[0] = '\0';
}

void print_list() {
  for (const Variant& v : variants()) {
    std::printf("%-28s %-3s  atol=%-7.1g rtol=%-7.1g %s\n", v.id().c_str(),
                v.device == Device::Gpu ? "gpu" : "cpu", v.tol.atol, v.tol.rtol, v.summary);
  }
  if (absent_variants().empty()) return;
  std::printf("\nnot available in this build or on this CPU:\n");
  for (const Absent& a : absent_variants()) std::printf("%-28s %s\n", a.id.c_str(), a.why.c_str());
}

// Registers every (variant, shape), grouped by family, type and shape so inputs are shared.
// Returns how many were registered; GPU shapes that cannot fit are left out with a message.
int register_benchmarks(const Session& s) {
  int registered = 0;
  for (const Family& f : families()) {
    for (DType t : kDTypes) {
      for (Device device : {Device::Gpu, Device::Cpu}) {
        if (device == Device::Gpu && !s.gpu.available) continue;
        for (const Shape& shape : sweep(f, device, t, s.options)) {
          for (const Variant& v : variants()) {
            if (v.family != &f || v.dtype != t || v.device != device || !v.supports(shape.cols)) continue;
            const std::string name = benchmark_name(v, shape);
            if (device == Device::Gpu) {
              // Timing buffers + run_once's own copies + the L2 flush buffer.
              const double need = 2.0 * ideal_bytes(f, t, shape) + v.workspace(shape.rows, shape.cols) +
                                  2.0 * s.info.l2_bytes;
              const double free_bytes = static_cast<double>(free_device_bytes());
              if (need > 0.9 * free_bytes) {
                std::fprintf(stderr, "actbench: skipping %s: needs %.2f GiB, %.2f GiB free\n", name.c_str(),
                             need / (1 << 30), free_bytes / (1 << 30));
                continue;
              }
            }
            benchmark::RegisterBenchmark(name.c_str(), run_benchmark, v, shape)
                ->UseManualTime()
                ->Unit(benchmark::kMicrosecond);
            ++registered;
          }
        }
      }
    }
  }
  return registered;
}

int run(int argc, char** argv) {
  Session session;
  g_session = &session;
  session.options = parse_options(argc, argv);
  if (session.options.list) {
    print_list();
    return 0;
  }

  // Defaults first so that the caller's own flags, parsed later, win.
  const std::string tmp_out =
      session.options.out.empty() ? "" : session.options.out + ".tmp." + std::to_string(getpid());
  // Repetitions in random order (Google Benchmark's interleaving) spread each benchmark's
  // repetitions over the run: drift or a burst of load lands on a few repetitions of many
  // benchmarks, which compare.py's medians see past, rather than on all of one. --quick takes
  // 16 repetitions of min_time 0.007 s, about 10 ms each (Google Benchmark sizes a repetition
  // to 1.4 x min_time): in 4 processes (scripts/bench.sh --quick) on the 2-core build machine,
  // 9 quiet A/A pairs passed judging 90-99% of the benchmarks, 32-36 s a run, where 20 of 14 ms
  // judged 78-90% in 52-54 s (results/README.md, "The --quick defaults"). The console shows each
  // benchmark's median and cv, the log every repetition.
  std::vector<std::string> gb_args = {
      argv[0], session.options.quick ? "--benchmark_min_time=0.007" : "--benchmark_min_time=0.02",
      session.options.quick ? "--benchmark_repetitions=16" : "--benchmark_repetitions=5",
      "--benchmark_enable_random_interleaving=true"};
  if (!tmp_out.empty()) gb_args.push_back("--benchmark_out=" + tmp_out);
  for (int i = 1; i < argc; ++i) gb_args.push_back(argv[i]);
  std::vector<char*> gb_argv;
  for (std::string& a : gb_args) gb_argv.push_back(a.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (gb_argc > 1) {
    usage_error(std::string("'") + gb_argv[1] +
                "' is neither an actbench option nor a Google Benchmark flag with a valid value");
  }
  if (!tmp_out.empty()) open_partial_log(session.options.out, tmp_out);

  session.host_budget = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 2;
  session.gpu = probe_gpu(session.options.device);
  if (!session.gpu.available && session.gpu.device_count > 0) usage_error("--device: " + session.gpu.reason);
  if (session.gpu.available) {
    session.info = device_info(session.options.device);
    session.device_budget = session.info.total_bytes / 4;
    ACT_CUDA_CHECK(cudaStreamCreateWithFlags(&session.stream, cudaStreamNonBlocking));
    session.timer = std::make_unique<GpuTimer>(session.info, session.stream, !session.options.warm);
    for (DType t : kDTypes) session.gpu_copy_bw[static_cast<size_t>(t)] = measure_copy_bw(session, Device::Gpu, t);
    std::fprintf(stderr,
                 "actbench: GPU %d: %s, %d SMs, %.1f MiB L2, copy %s GB/s measured in f32, %s in f16 (%.0f theoretical)\n",
                 session.info.device, session.info.name.c_str(), session.info.sm_count,
                 session.info.l2_bytes / 1048576.0, gbs(session.gpu_copy_bw[0]).c_str(),
                 gbs(session.gpu_copy_bw[1]).c_str(), session.info.theoretical_bw_gbs);
  } else {
    std::fprintf(stderr, "actbench: GPU benchmarks skipped: %s; running the CPU benchmarks only\n",
                 session.gpu.reason.c_str());
    if (session.options.device_given) {
      std::fprintf(stderr, "actbench: note: --device=%d was not checked: no GPU is visible\n",
                   session.options.device);
    }
  }
  for (DType t : kDTypes) session.cpu_copy_bw[static_cast<size_t>(t)] = measure_copy_bw(session, Device::Cpu, t);
  add_context(session);
  const int registered = register_benchmarks(session);
  std::fprintf(stderr, "actbench: %d benchmarks registered\n", registered);

  RegisteredNames<ConsoleTable> display;
  JsonLog file;
  const size_t ran = tmp_out.empty() ? benchmark::RunSpecifiedBenchmarks(&display)
                                     : benchmark::RunSpecifiedBenchmarks(&display, &file);
  benchmark::Shutdown();
  if (ran == 0) {
    std::fprintf(stderr, "actbench: no benchmark matched; nothing was logged\n");
    return 2;
  }
  if (!tmp_out.empty()) {
    if (file.rows == 0) {
      std::fprintf(stderr, "actbench: nothing was measured (no result row); no log was written\n");
      return 2;
    }
    keep_partial_log(session.options.out);
  }
  if (session.failed) {
    std::fprintf(stderr, "actbench: FAILED: at least one benchmark did not verify or errored (see above)\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace actbench

int main(int argc, char** argv) {
  // Host buffers of up to 2^26 elements come and go with every benchmark and repetition
  // (outputs, the runner's guarded copies, workspaces). Below 32 MiB they come from the heap,
  // whose top is kept: freed memory is reused as it is, without page faults. From 32 MiB on
  // they are mappings of their own, returned at free: kept in the heap, freed buffers of
  // mixed sizes fragmented it until the full CPU sweep's resident set passed the 24 GB of the
  // build machine (the prepared cases it counts against half of memory were 12 GB of it).
  // CPU variants' timed calls are unaffected (each rep warms its output first).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  try {
    return actbench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "actbench: error: %s\n", e.what());
    return 2;
  }
}
