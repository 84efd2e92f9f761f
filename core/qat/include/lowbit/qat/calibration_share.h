// CalibrationShare: the rows of the calibration windows that one rank of a data-parallel qat run
// computes, and the world its sums go through (docs/efficientqat.md §Data-parallel runs). Every
// Block-AP batch is cut into contiguous parts, one per rank, so N ranks together compute exactly
// the rows one process computes, and the summed gradient is the batch's gradient.
#pragma once

#include "lowbit/dist/world.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lowbit::qat {

/// One rank's part of one batch of consecutive windows.
struct BatchPart {
    int64_t batch_rows = 0;   // rows of the whole batch (the last batch may be short)
    int64_t first = 0;        // the part's first row among all windows
    int64_t count = 0;        // rows in the part (0 when the batch has fewer rows than ranks)
    int64_t local_first = 0;  // the part's first row among this rank's windows
};

/// Rows [first, first + count) of a set of rows.
struct RowRange {
    int64_t first = 0;
    int64_t count = 0;
};

/// Rank `rank` of `ranks`' part of `rows` rows: rows ⌊rows·r/N⌋ … ⌊rows·(r+1)/N⌋ − 1.
RowRange row_part(int64_t rows, int rank, int ranks);

struct CalibrationShare {
    dist::World* world = nullptr;  // nullptr: a single process computing every row
    std::vector<BatchPart> train;  // this rank's part of each training batch, in batch order
    RowRange val;                  // this rank's part of the validation windows

    int ranks() const {
        return world == nullptr ? 1 : world->size();
    }

    /// The training windows this rank holds: the parts' rows, in order ((Σ count) int64).
    torch::Tensor train_rows() const;
};

/// The share of rank world.rank() of `samples` training windows in batches of `batch` and of
/// `val_samples` validation windows. With `world` null, the whole of both.
CalibrationShare calibration_share(int64_t samples,
                                   int64_t batch,
                                   int64_t val_samples,
                                   dist::World* world);

}  // namespace lowbit::qat
