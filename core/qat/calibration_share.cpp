// calibration_share (see calibration_share.h).
#include "lowbit/qat/calibration_share.h"

#include <algorithm>

namespace lowbit::qat {

RowRange row_part(int64_t rows, int rank, int ranks) {
    const int64_t begin = rows * rank / ranks;
    const int64_t end = rows * (rank + 1) / ranks;
    return {.first = begin, .count = end - begin};
}

torch::Tensor CalibrationShare::train_rows() const {
    std::vector<int64_t> rows;
    for (const BatchPart& part : train) {
        for (int64_t i = 0; i < part.count; ++i) {
            rows.push_back(part.first + i);
        }
    }
    return torch::tensor(rows, torch::kInt64);
}

CalibrationShare calibration_share(int64_t samples,
                                   int64_t batch,
                                   int64_t val_samples,
                                   dist::World* world) {
    CalibrationShare share;
    share.world = world;
    const int rank = world == nullptr ? 0 : world->rank();
    const int ranks = share.ranks();
    int64_t local = 0;
    for (int64_t first = 0; first < samples; first += batch) {
        const int64_t rows = std::min(batch, samples - first);
        const RowRange part = row_part(rows, rank, ranks);
        share.train.push_back({.batch_rows = rows,
                               .first = first + part.first,
                               .count = part.count,
                               .local_first = local});
        local += part.count;
    }
    share.val = row_part(val_samples, rank, ranks);
    return share;
}

}  // namespace lowbit::qat
