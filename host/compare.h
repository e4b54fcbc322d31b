// Comparison of a result (values of the variant's type, widened to float) against the
// reference (rounded to the same type). Special values must match by
// position: where the reference is NaN the result must be NaN, where it is +-inf the result
// must be the same infinity, and a NaN or inf the reference does not have is a mismatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/reference.h"
#include "kernels/registry.h"

namespace actbench {

struct Mismatch {
  int64_t index;
  float got;
  double want;
};

struct Comparison {
  int64_t count = 0;
  int64_t mismatches = 0;
  int64_t special_mismatches = 0;  // of them, where got or ref is NaN or inf: outside the maxima
  double max_abs_err = 0.0;  // over positions where both are finite
  double max_rel_err = 0.0;  // |got - ref| / |ref|, over finite nonzero ref
  double max_ulp_err = 0.0;  // in units of the type's spacing at ref
  // The worst element against its own bound, max |got - ref| / (atol + rtol * |ref|) over
  // positions where both are finite: 0.37 is 37% of the tolerance used, above 1 a mismatch.
  // Beside max_rel_err it tells a near-failure from a large relative error on an output near
  // zero that atol absorbs (a subnormal flushed to 0).
  double tol_used = 0.0;
  std::vector<Mismatch> first;  // the first few mismatching positions, in index order

  bool ok() const { return mismatches == 0; }
  // One line: "ok: max_abs_err=..." or "mismatch: 3 of 4099 outside atol=.. rtol=..; first [7] got .. want ..",
  // saying how many mismatches are NaN or inf (the maxima, over finite pairs, do not show them).
  std::string describe(const Tolerance& tol) const;
};

// `type` sets the unit of max_ulp_err (the tolerance is the variant's own, already in its type).
// `bound`, when not null, holds a further accepted absolute error per element (a sum's
// summation bound, host/reference.h's Expected::bound).
Comparison compare(const float* got, const double* ref, int64_t count, const Tolerance& tol, DType type,
                   const double* bound = nullptr);
inline Comparison compare(const std::vector<float>& got, const std::vector<double>& ref, const Tolerance& tol,
                          DType type) {
  return compare(got.data(), ref.data(), static_cast<int64_t>(got.size()), tol, type);
}
// Against a reference with its bounds; a size mismatch is every element mismatching.
Comparison compare(const std::vector<float>& got, const Expected& want, const Tolerance& tol, DType type);

}  // namespace actbench
