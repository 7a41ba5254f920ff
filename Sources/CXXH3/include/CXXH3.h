#ifndef CXXH3_H
#define CXXH3_H
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU runs `cxxh3_accumulate_avx2` (x86-64 with AVX2).
int cxxh3_has_avx2(void);

/// XXH3's accumulate step over `stripes` 64-byte stripes of `input`, the n-th keyed with the
/// 64 bytes of `secret` at 8 × n, with AVX2. Only call it when `cxxh3_has_avx2()` is true.
void cxxh3_accumulate_avx2(uint64_t acc[8], const void *input, const void *secret, size_t stripes);

#endif
