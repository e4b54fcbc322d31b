#include "host/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace actbench {

namespace {

constexpr size_t kReported = 5;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Spacing of type t's values at |ref| (ref finite): the unit the ulp error is counted in.
double type_ulp(double ref, DType t) { return std::ldexp(1.0, dtype_spacing_exponent(t, ref)); }

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// One contiguous range, in index order.
Comparison compare_range(const float* got, const double* ref, int64_t begin, int64_t end,
                         const Tolerance& tol, DType type, const double* extra) {
  Comparison c;
  c.count = end - begin;
  for (int64_t i = begin; i < end; ++i) {
    const double g = got[i], r = ref[i];
    bool bad, special = true;  // special: got or ref is NaN or inf (the first two branches)
    if (std::isnan(r) || std::isinf(r)) {
      bad = std::isnan(r) ? !std::isnan(g) : g != r;
    } else if (!std::isfinite(g)) {
      bad = true;
    } else {
      special = false;
      const double err = std::fabs(g - r), bound = tol.atol + tol.rtol * std::fabs(r) + (extra ? extra[i] : 0.0);
      bad = err > bound;
      c.max_abs_err = std::fmax(c.max_abs_err, err);
      if (r != 0.0) c.max_rel_err = std::fmax(c.max_rel_err, err / std::fabs(r));
      c.max_ulp_err = std::fmax(c.max_ulp_err, err / type_ulp(r, type));
      // A zero bound (bit-exact variants) is used up by any error at all.
      const double used = bound > 0.0 ? err / bound : err > 0.0 ? kInf : 0.0;
      c.tol_used = std::fmax(c.tol_used, used);
    }
    if (bad) {
      ++c.mismatches;
      c.special_mismatches += special;
      if (c.first.size() < kReported) c.first.push_back({i, got[i], r});
    }
  }
  return c;
}

}  // namespace

// Chunks are compared in parallel (2^28-element outputs are checked in every full sweep) and
// merged in index order, so the result is the same as one sequential pass.
Comparison compare(const float* got, const double* ref, int64_t count, const Tolerance& tol, DType type,
                   const double* bound) {
  constexpr int64_t kChunk = int64_t{1} << 20;
  const int64_t chunks = std::max<int64_t>(1, (count + kChunk - 1) / kChunk);
  std::vector<Comparison> parts(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(dynamic, 1) if (chunks > 1)
  for (int64_t k = 0; k < chunks; ++k) {
    parts[k] = compare_range(got, ref, k * kChunk, std::min(count, (k + 1) * kChunk), tol, type, bound);
  }
  Comparison c;
  for (const Comparison& part : parts) {
    c.count += part.count;
    c.mismatches += part.mismatches;
    c.special_mismatches += part.special_mismatches;
    c.max_abs_err = std::fmax(c.max_abs_err, part.max_abs_err);
    c.max_rel_err = std::fmax(c.max_rel_err, part.max_rel_err);
    c.max_ulp_err = std::fmax(c.max_ulp_err, part.max_ulp_err);
    c.tol_used = std::fmax(c.tol_used, part.tol_used);
    for (const Mismatch& m : part.first) {
      if (c.first.size() < kReported) c.first.push_back(m);
    }
  }
  return c;
}

Comparison compare(const std::vector<float>& got, const Expected& want, const Tolerance& tol, DType type) {
  const size_t count = want.value.size();
  if (got.size() != count || (!want.bound.empty() && want.bound.size() != count)) {
    throw std::invalid_argument("compare: " + std::to_string(got.size()) + " outputs against " + std::to_string(count) +
                                " reference values and " + std::to_string(want.bound.size()) + " bounds");
  }
  return compare(got.data(), want.value.data(), static_cast<int64_t>(count), tol, type,
                 want.bound.empty() ? nullptr : want.bound.data());
}

std::string Comparison::describe(const Tolerance& tol) const {
  std::string s = ok() ? "ok:" : "mismatch: " + std::to_string(mismatches) + " of " +
                                     std::to_string(count) + " outside atol=" + format_number(tol.atol) +
                                     " rtol=" + format_number(tol.rtol) +
                                     (special_mismatches ? " (" + std::to_string(special_mismatches) +
                                                               " NaN or inf, which the maxima leave out)"
                                                         : "") + ";";
  s += " max_abs_err=" + format_number(max_abs_err) + " max_rel_err=" + format_number(max_rel_err) +
       " max_ulp_err=" + format_number(max_ulp_err) + " tol_used=" + format_number(tol_used);
  if (!first.empty()) {
    s += "; first:";
    for (const Mismatch& m : first) {
      s += " [" + std::to_string(m.index) + "] got " + format_number(m.got) + " want " +
           format_number(m.want);
    }
  }
  return s;
}

}  // namespace actbench
