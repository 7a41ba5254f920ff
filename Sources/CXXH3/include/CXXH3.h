#ifndef CXXH3_H
#define CXXH3_H
#include <stddef.h>
#include <stdint.h>

/// Whether this CPU runs `cxxh3_consume_avx2` (x86-64 with AVX2).
int cxxh3_has_avx2(void);

/// XXH3's long-input loop, with AVX2, over `stripes` 64-byte stripes of `input`: each stripe is
/// folded into the eight accumulators, keyed with the 64 bytes of the 192-byte `secret` at
/// 8 × (its index in the block), and the accumulators are scrambled (with the secret's bytes
/// 128..<192) at the end of every block of 16 stripes. `stripes_so_far` is how many stripes of
/// the current block were consumed before; returns that count after these. Only call it when
/// `cxxh3_has_avx2()` is true.
size_t cxxh3_consume_avx2(uint64_t acc[8], const void *input, size_t stripes, const void *secret, size_t stripes_so_far);

#endif
