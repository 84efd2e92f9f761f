// LOWBIT_HD: marks small inline helpers shared by the CPU paths and CUDA kernels, so both evaluate
// the same float operations in the same order (bit-identical results on host and device).
#pragma once

#if defined(__CUDACC__)
#define LOWBIT_HD __host__ __device__
#else
#define LOWBIT_HD
#endif
