// DAT's continuous relative-position bias on CPU: bilinear sampling of a bias table at the query-to-key
// displacements ``query_half[q] - pos_half[n, k]`` (grid_sample, align_corners=True, zero padding), and its
// backward. Equal to F.grid_sample with that grid, without materialising the (N, Nq, Nk, 2) grid; the backward
// runs in parallel over table planes, so every thread scatters into its own plane (aten's grid_sample
// backward parallelises over the batch only, which at DAT's 3-6 offset groups leaves threads idle).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include <cmath>
#include <vector>

namespace {

// The table with a one-cell zero border, so that every tap of a point near the table reads (and writes) a cell
// and needs no bounds check: the four taps of a point are i, i + 1, i + width, i + width + 1.
at::Tensor zero_bordered(const at::Tensor& table) {
  return at::constant_pad_nd(table, {1, 1, 1, 1}, 0).contiguous();
}

// The taps of one row of sample points (fixed query, every key): base index into a bordered plane of
// width ``padded_width`` and the bilinear weights. Points whose taps all fall outside get index 0 (a border
// cell) and zero weights; so does a NaN position (grid_sample returns NaN there; in DAT the keys and values,
// sampled at the same positions, carry the NaN anyway).
template <typename T>
struct RowTaps {
  std::vector<int32_t> index;  // tables are small
  std::vector<T> wx0, wx1, wy0, wy1;

  explicit RowTaps(int64_t n) : index(n), wx0(n), wx1(n), wy0(n), wy1(n) {}

  // points (qx - pos[k].x, qy - pos[k].y) in grid_sample's align_corners=True units over a height x width table
  void locate(T qx, T qy, const T* pos, int64_t n, int64_t height, int64_t width) {
    const T scale_x = static_cast<T>(width - 1) / 2, scale_y = static_cast<T>(height - 1) / 2;
    const int32_t padded_width = static_cast<int32_t>(width + 2);
    for (int64_t k = 0; k < n; ++k) {
      const T ix = (qx - pos[2 * k] + 1) * scale_x, iy = (qy - pos[2 * k + 1] + 1) * scale_y;
      // comparisons are false for NaN; a point is near when its floor lies in [-1, size - 1]
      const bool near = (ix >= -1) & (ix < static_cast<T>(width)) & (iy >= -1) & (iy < static_cast<T>(height));
      const T fx = near ? std::floor(ix) : T(-1), fy = near ? std::floor(iy) : T(-1);
      index[k] = static_cast<int32_t>(fy + 1) * padded_width + static_cast<int32_t>(fx + 1);
      wx1[k] = near ? ix - fx : T(0);
      wx0[k] = near ? (fx + 1) - ix : T(0);
      wy1[k] = near ? iy - fy : T(0);
      wy0[k] = near ? (fy + 1) - iy : T(0);
    }
  }
};

void check_inputs(const at::Tensor& table, const at::Tensor& pos_half, const at::Tensor& query_half) {
  TORCH_CHECK(table.dim() == 4, "sample_position_bias: table must be (N, C, Th, Tw), got ", table.sizes());
  TORCH_CHECK(pos_half.dim() == 3 && pos_half.size(0) == table.size(0) && pos_half.size(2) == 2,
              "sample_position_bias: pos_half must be (N, Nk, 2) with N = ", table.size(0), ", got ",
              pos_half.sizes());
  TORCH_CHECK(query_half.dim() == 2 && query_half.size(1) == 2,
              "sample_position_bias: query_half must be (Nq, 2), got ", query_half.sizes());
  TORCH_CHECK(table.scalar_type() == pos_half.scalar_type() && table.scalar_type() == query_half.scalar_type(),
              "sample_position_bias: table, pos_half and query_half must share a dtype");
  TORCH_CHECK(table.device().is_cpu(), "sample_position_bias: CPU tensors only");
  TORCH_CHECK((table.size(2) + 2) * (table.size(3) + 2) < (int64_t(1) << 31),
              "sample_position_bias: table planes over 2**31 cells are not supported, got ", table.sizes());
}

at::Tensor sample_position_bias(const at::Tensor& table_in, const at::Tensor& pos_in, const at::Tensor& query_in) {
  check_inputs(table_in, pos_in, query_in);
  const auto table = zero_bordered(table_in);
  const auto pos = pos_in.contiguous();
  const auto query = query_in.contiguous();
  const int64_t N = table.size(0), C = table.size(1), H = table_in.size(2), W = table_in.size(3);
  const int64_t plane_size = (H + 2) * (W + 2), Wp = W + 2;
  const int64_t Nk = pos.size(1), Nq = query.size(0);
  auto out = at::empty({N, C, Nq, Nk}, table.options());
  AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "sample_position_bias", [&] {
    const scalar_t* table_p = table.data_ptr<scalar_t>();
    const scalar_t* pos_p = pos.data_ptr<scalar_t>();
    const scalar_t* query_p = query.data_ptr<scalar_t>();
    scalar_t* out_p = out.data_ptr<scalar_t>();
    // one task per (n, q) row of keys; the taps are located once and read for every channel
    at::parallel_for(0, N * Nq, 8, [&](int64_t begin, int64_t end) {
      RowTaps<scalar_t> taps(Nk);
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / Nq, q = row % Nq;
        taps.locate(query_p[2 * q], query_p[2 * q + 1], pos_p + n * Nk * 2, Nk, H, W);
        const int32_t* __restrict index = taps.index.data();
        const scalar_t* __restrict wx0 = taps.wx0.data();
        const scalar_t* __restrict wx1 = taps.wx1.data();
        const scalar_t* __restrict wy0 = taps.wy0.data();
        const scalar_t* __restrict wy1 = taps.wy1.data();
        for (int64_t c = 0; c < C; ++c) {
          const scalar_t* __restrict plane = table_p + (n * C + c) * plane_size;
          scalar_t* __restrict dst = out_p + ((n * C + c) * Nq + q) * Nk;
          for (int64_t k = 0; k < Nk; ++k) {
            const scalar_t* t = plane + index[k];
            dst[k] = (t[0] * wx0[k] + t[1] * wx1[k]) * wy0[k] + (t[Wp] * wx0[k] + t[Wp + 1] * wx1[k]) * wy1[k];
          }
        }
      }
    });
  });
  return out;
}

// Accumulates d table (N, C, Th, Tw) and d pos_half (N, Nk, 2) for grad (N, C, Nq, Nk) of the sampled bias.
// Rows of queries are split over the threads; each thread accumulates into its own bordered table and key
// gradients, which are summed at the end (the scatter into the table has no races, whatever the batch size).
void sample_position_bias_backward(const at::Tensor& grad_in, const at::Tensor& table_in, const at::Tensor& pos_in,
                                   const at::Tensor& query_in, const c10::optional<at::Tensor>& grad_table,
                                   const c10::optional<at::Tensor>& grad_pos) {
  check_inputs(table_in, pos_in, query_in);
  const int64_t N = table_in.size(0), C = table_in.size(1), H = table_in.size(2), W = table_in.size(3);
  const int64_t Nk = pos_in.size(1), Nq = query_in.size(0);
  TORCH_CHECK(grad_in.sizes() == at::IntArrayRef({N, C, Nq, Nk}), "sample_position_bias_backward: grad must be ",
              at::IntArrayRef({N, C, Nq, Nk}), ", got ", grad_in.sizes());
  const bool need_table = grad_table.has_value() && grad_table->defined();
  const bool need_pos = grad_pos.has_value() && grad_pos->defined();
  if (need_table) {
    TORCH_CHECK(grad_table->sizes() == table_in.sizes() && grad_table->scalar_type() == table_in.scalar_type(),
                "sample_position_bias_backward: grad_table must be shaped and typed like table");
  }
  if (need_pos) {
    TORCH_CHECK(grad_pos->sizes() == pos_in.sizes() && grad_pos->scalar_type() == pos_in.scalar_type(),
                "sample_position_bias_backward: grad_pos must be shaped and typed like pos_half");
  }
  if (!need_table && !need_pos) return;
  const auto table = zero_bordered(table_in);
  const auto pos = pos_in.contiguous();
  const auto query = query_in.contiguous();
  const auto grad = grad_in.to(table.scalar_type()).contiguous();
  const int64_t plane_size = (H + 2) * (W + 2), Wp = W + 2;
  const int64_t threads = at::get_num_threads();
  // per thread: d bordered table and d (x, y) per key in grid units (before the -(size - 1) / 2 factor)
  auto dtable_threads = at::zeros({threads, N, C, H + 2, W + 2}, table.options());
  auto dpos_threads = at::zeros({threads, N, Nk, 2}, table.options());
  AT_DISPATCH_FLOATING_TYPES(table.scalar_type(), "sample_position_bias_backward", [&] {
    const scalar_t* table_p = table.data_ptr<scalar_t>();
    const scalar_t* pos_p = pos.data_ptr<scalar_t>();
    const scalar_t* query_p = query.data_ptr<scalar_t>();
    const scalar_t* grad_p = grad.data_ptr<scalar_t>();
    at::parallel_for(0, N * Nq, 8, [&](int64_t begin, int64_t end) {
      const int64_t thread = at::get_thread_num();
      scalar_t* dtable_p = dtable_threads.data_ptr<scalar_t>() + thread * N * C * plane_size;
      scalar_t* dpos_p = dpos_threads.data_ptr<scalar_t>() + thread * N * Nk * 2;
      RowTaps<scalar_t> taps(Nk);
      for (int64_t row = begin; row < end; ++row) {
        const int64_t n = row / Nq, q = row % Nq;
        taps.locate(query_p[2 * q], query_p[2 * q + 1], pos_p + n * Nk * 2, Nk, H, W);
        scalar_t* dpos_n = dpos_p + n * Nk * 2;
        for (int64_t c = 0; c < C; ++c) {
          const scalar_t* plane = table_p + (n * C + c) * plane_size;
          scalar_t* dplane = dtable_p + (n * C + c) * plane_size;
          const scalar_t* g_row = grad_p + ((n * C + c) * Nq + q) * Nk;
          for (int64_t k = 0; k < Nk; ++k) {
            const scalar_t g = g_row[k];
            const int32_t i = taps.index[k];
            const scalar_t wx0 = taps.wx0[k], wx1 = taps.wx1[k], wy0 = taps.wy0[k], wy1 = taps.wy1[k];
            if (need_table) {
              dplane[i] += wx0 * wy0 * g;
              dplane[i + 1] += wx1 * wy0 * g;
              dplane[i + Wp] += wx0 * wy1 * g;
              dplane[i + Wp + 1] += wx1 * wy1 * g;
            }
            if (need_pos) {
              const scalar_t* t = plane + i;
              dpos_n[2 * k] += (wy0 * (t[1] - t[0]) + wy1 * (t[Wp + 1] - t[Wp])) * g;
              dpos_n[2 * k + 1] += (wx0 * (t[Wp] - t[0]) + wx1 * (t[Wp + 1] - t[1])) * g;
            }
          }
        }
      }
    });
  });
  if (need_table) {
    grad_table->add_(dtable_threads.sum(0).slice(2, 1, H + 1).slice(3, 1, W + 1));
  }
  if (need_pos) {
    // the displacement is query - pos, so d pos = -d displacement * (size - 1) / 2
    const double scale_x = static_cast<double>(W - 1) / 2, scale_y = static_cast<double>(H - 1) / 2;
    auto scales = at::tensor({-scale_x, -scale_y}, table.options());
    grad_pos->add_(dpos_threads.sum(0) * scales);
  }
}

}  // namespace

TORCH_LIBRARY(mmattn_cpu, m) {
  m.def("sample_position_bias(Tensor table, Tensor pos_half, Tensor query_half) -> Tensor");
  m.def("sample_position_bias_backward(Tensor grad, Tensor table, Tensor pos_half, Tensor query_half, "
        "Tensor(a!)? grad_table, Tensor(b!)? grad_pos) -> ()");
}

TORCH_LIBRARY_IMPL(mmattn_cpu, CPU, m) {
  m.impl("sample_position_bias", &sample_position_bias);
  m.impl("sample_position_bias_backward", &sample_position_bias_backward);
}
