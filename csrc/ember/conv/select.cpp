// The convolution path rules: for each pass, a table of rules tried in order; the first
// whose path fits the layer and wins it runs. Each rule's condition is where that path
// measured fastest per layer shape (benchmarks/bench_conv.py; the measurements are in
// docs/results.md, "Convolution path rules").
//
// A rule is tried only where its path's geometry applies (`fits`). With an algorithm forced
// by set_conv_algo, the first fitting rule of that algorithm runs (else im2col). With Auto,
// a rule that parallelises over whole images (`per_image`) is skipped for 1x1 stride-1
// layers (the input is its own column matrix) and for batches smaller than the thread count;
// then its `wins` condition decides.
#include "ember/conv/select.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "ember/conv/common.h"
#include "ember/conv/paths.h"
#include "ember/conv/products.h"

namespace ember::conv {

namespace {

struct Ctx {
  bool f32;
  int64_t width;      // the active tier's narrow tile width for the element type
  int64_t elem_size;  // bytes per value
};

struct Rule {
  ConvAlgo algo;
  bool (*fits)(const Conv2dShape&, const Ctx&);
  bool (*wins)(const Conv2dShape&, const Ctx&);
  bool per_image;
  const char* why;
};

bool always(const Conv2dShape&, const Ctx&) { return true; }
bool groups_1(const Conv2dShape& s, const Ctx&) { return s.groups == 1; }
bool stride_1(const Conv2dShape& s, const Ctx&) { return s.sh == 1 && s.sw == 1; }
bool dilation_1(const Conv2dShape& s, const Ctx&) { return s.dh == 1 && s.dw == 1; }
bool stride_1_transposable(const Conv2dShape& s, const Ctx&) { return transposable(s); }

bool winograd_fits(const Conv2dShape& s, const Ctx& c) {
  return c.f32 && s.R == 3 && s.S == 3 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 &&
         s.ph <= 2 && s.pw <= 2;
}
// 16..128 channels per group in and out (more: the 16 products re-pack a large U[xi] for
// every block of tiles) and >= 12 output columns (the transforms vectorise along a row of
// tiles: narrow outputs waste most lanes).
bool winograd_wins(const Conv2dShape& s, const Ctx&) {
  return s.Cg() >= 16 && s.Kg() >= 16 && s.Cg() <= 128 && s.Kg() <= 128 && s.Q >= 12;
}
bool winograd_profitable(const Conv2dShape& s, const Ctx& c) {
  return winograd_fits(s, c) && winograd_wins(s, c);
}

// A batch of >= 16 images with <= 16 pixels and >= 64 channels, or <= 64 pixels and >= 128
// channels: padding taps are a large part of every other path's work there.
bool pixel_wins(const Conv2dShape& s, const Ctx&) {
  const int64_t channels = std::min(s.C, s.K), pixels = std::max(s.pq(), s.H * s.W);
  return s.N >= 16 && ((pixels <= 16 && channels >= 64) || (pixels <= 64 && channels >= 128));
}

// Output channels that fill whole register tiles (a multiple of two narrow tiles, or of
// one on images under 16 columns), >= 4 input channels, >= 8 output columns (a row is one
// or more runs of a tile's rows), filters of <= 1152 values (their packed panels are
// re-read for every output row), not 1x1; Winograd keeps the layers with >= 64 output
// channels where it is profitable.
bool direct_forward_wins(const Conv2dShape& s, const Ctx& c) {
  if (s.Kg() >= 64 && winograd_profitable(s, c)) return false;
  const bool tiles = s.Kg() % (2 * c.width) == 0 || (s.Kg() % c.width == 0 && s.Q < 16);
  return tiles && s.Cg() >= 4 && s.Q >= 8 && s.crs() <= 1152 && s.R * s.S > 1;
}

// Few input channels (<= 32, <= 64 outputs) on >= 8 output columns: the column matrix
// costs more than the small product it feeds, and Winograd's savings need more channels.
bool frame_forward_wins(const Conv2dShape& s, const Ctx&) {
  return s.Cg() <= 32 && s.Kg() <= 64 && s.Q >= 8;
}

// The stride-1 backward-input is the forward of the transposed layer (common.h).
bool direct_backward_input_wins(const Conv2dShape& s, const Ctx& c) {
  return direct_forward_wins(transposed_shape(s), c);
}
bool frame_backward_input_wins(const Conv2dShape& s, const Ctx& c) {
  return frame_forward_wins(transposed_shape(s), c);
}

// >= 4 input channels (or 2-3 in the transposed form with one or two full narrow tiles of
// output channels) and >= 4 output columns.
bool gather_backward_weight_wins(const Conv2dShape& s, const Ctx& c) {
  const bool few_in = s.Cg() >= 2 && s.Kg() <= 2 * c.width && s.Kg() % c.width == 0;
  return (s.Cg() >= 4 || few_in) && s.Q >= 4;
}

// Few channels (Cg + Kg <= 96) whose frames of one image fit about 1.5 MiB: the dot tiles
// beat a column matrix there, while the GEMM's packed panels reuse data better with more.
bool frame_backward_weight_wins(const Conv2dShape& s, const Ctx& c) {
  if (s.Cg() + s.Kg() > 96) return false;
  return frame::backward_weight_frame_bytes(s, c.elem_size) <= (int64_t(3) << 19);
}

constexpr Rule kForward[] = {
    {ConvAlgo::Pixel, groups_1, pixel_wins, true,
     "few pixels, many channels: no padding taps multiplied"},
    {ConvAlgo::Direct, always, direct_forward_wins, true,
     "output channels fill whole register tiles: every lane a wanted output"},
    {ConvAlgo::Frame, stride_1, frame_forward_wins, true,
     "few channels, stride 1: taps as shifts of one frame, no column matrix"},
    {ConvAlgo::Winograd, winograd_fits, winograd_wins, false,
     "3x3 stride 1 with 16..128 channels: 2.25x fewer multiply-adds"},
    {ConvAlgo::Im2col, always, always, false, "any layer"},
};

constexpr Rule kBackwardInput[] = {
    {ConvAlgo::Pixel, groups_1, pixel_wins, true,
     "few pixels, many channels: no padding taps multiplied"},
    {ConvAlgo::Direct, stride_1_transposable, direct_backward_input_wins, true,
     "the direct forward of the transposed layer"},
    {ConvAlgo::Frame, stride_1_transposable, frame_backward_input_wins, true,
     "the frame forward of the transposed layer"},
    {ConvAlgo::Winograd, winograd_fits, winograd_wins, false,
     "3x3 stride 1 with 16..128 channels: 2.25x fewer multiply-adds"},
    {ConvAlgo::Im2col, always, always, false, "any layer"},
};

constexpr Rule kBackwardWeight[] = {
    {ConvAlgo::Pixel, groups_1, pixel_wins, true,
     "few pixels, many channels: one gathered product per tap"},
    {ConvAlgo::Direct, dilation_1, gather_backward_weight_wins, true,
     "input windows read in place from pixel-major frames"},
    {ConvAlgo::Frame, stride_1, frame_backward_weight_wins, true,
     "few channels: dot tiles over frames kept in L2"},
    {ConvAlgo::Im2col, always, always, false, "any layer"},
};

template <size_t N>
ConvAlgo first_match(const Rule (&rules)[N], const Conv2dShape& s, const Ctx& c) {
  if (s.N == 0) return ConvAlgo::Im2col;  // nothing to compute
  const ConvAlgo forced = get_conv_algo();
  const int nt = get_num_threads();
  const bool per_image_ok = !s.is_pointwise() && !(nt > 1 && s.N < nt);
  for (const Rule& r : rules) {
    if (!r.fits(s, c)) continue;
    if (forced != ConvAlgo::Auto) {
      if (forced == r.algo) return r.algo;
      continue;
    }
    if (r.per_image && !per_image_ok) continue;
    if (r.wins(s, c)) return r.algo;
  }
  return ConvAlgo::Im2col;
}

constexpr const char* kNames[] = {"auto", "im2col", "winograd", "frame", "direct", "pixel"};

std::atomic<int>& algo_slot() {
  static std::atomic<int> slot{[] {
    ConvAlgo a = ConvAlgo::Auto;
    if (const char* env = std::getenv("EMBER_CONV_ALGO")) conv_algo_from_name(env, a);
    return static_cast<int>(a);
  }()};
  return slot;
}

}  // namespace

void set_conv_algo(ConvAlgo algo) { algo_slot().store(static_cast<int>(algo)); }
ConvAlgo get_conv_algo() { return static_cast<ConvAlgo>(algo_slot().load()); }
const char* conv_algo_name(ConvAlgo algo) { return kNames[static_cast<int>(algo)]; }

bool conv_algo_from_name(const char* name, ConvAlgo& algo) {
  for (int i = 0; i < static_cast<int>(sizeof(kNames) / sizeof(kNames[0])); ++i) {
    if (std::strcmp(name, kNames[i]) == 0) {
      algo = static_cast<ConvAlgo>(i);
      return true;
    }
  }
  return false;
}

template <typename T>
ConvAlgo choose_algo(Pass pass, const Conv2dShape& s) {
  const Ctx c{std::is_same_v<T, float>, frame_rows_width<T>(), static_cast<int64_t>(sizeof(T))};
  switch (pass) {
    case Pass::Forward: return first_match(kForward, s, c);
    case Pass::BackwardInput: return first_match(kBackwardInput, s, c);
    default: return first_match(kBackwardWeight, s, c);
  }
}
template ConvAlgo choose_algo<float>(Pass, const Conv2dShape&);
template ConvAlgo choose_algo<double>(Pass, const Conv2dShape&);

}  // namespace ember::conv
