#include "CXXH3.h"

#define CXXH3_STRIPE 64
#define CXXH3_STRIPES_PER_BLOCK 16
#define CXXH3_SCRAMBLE_KEY 128 /* secret length 192 - stripe length 64 */
#define CXXH3_PRIME32_1 0x9E3779B1U

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

int cxxh3_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2")))
static inline void accumulate_avx2(__m256i acc[2], const char *in, const char *key, size_t stripes) {
    for (size_t n = 0; n < stripes; n++, in += CXXH3_STRIPE, key += 8) {
        for (int h = 0; h < 2; h++) {
            __m256i d = _mm256_loadu_si256((const __m256i *)(in + 32 * h));
            __m256i k = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(key + 32 * h)));
            /* low 32 bits × high 32 bits of each keyed lane, plus the neighbour lane's input */
            __m256i product = _mm256_mul_epu32(k, _mm256_srli_epi64(k, 32));
            acc[h] = _mm256_add_epi64(acc[h], _mm256_add_epi64(product, _mm256_shuffle_epi32(d, _MM_SHUFFLE(1, 0, 3, 2))));
        }
    }
}

__attribute__((target("avx2")))
static inline void scramble_avx2(__m256i acc[2], const char *key) {
    const __m256i prime = _mm256_set1_epi32((int)CXXH3_PRIME32_1);
    for (int h = 0; h < 2; h++) {
        __m256i v = _mm256_xor_si256(acc[h], _mm256_srli_epi64(acc[h], 47));
        v = _mm256_xor_si256(v, _mm256_loadu_si256((const __m256i *)(key + 32 * h)));
        /* v × PRIME32_1 modulo 2^64, from two 32 × 32-bit products */
        __m256i low = _mm256_mul_epu32(v, prime);
        __m256i high = _mm256_mul_epu32(_mm256_srli_epi64(v, 32), prime);
        acc[h] = _mm256_add_epi64(low, _mm256_slli_epi64(high, 32));
    }
}

__attribute__((target("avx2")))
size_t cxxh3_consume_avx2(uint64_t accumulators[8], const void *input, size_t stripes, const void *secret, size_t so_far) {
    const char *in = (const char *)input;
    const char *s = (const char *)secret;
    __m256i acc[2] = {_mm256_loadu_si256((const __m256i *)accumulators), _mm256_loadu_si256((const __m256i *)(accumulators + 4))};
    if (stripes >= CXXH3_STRIPES_PER_BLOCK - so_far) {
        size_t n = CXXH3_STRIPES_PER_BLOCK - so_far;
        const char *key = s + so_far * 8;
        do {
            accumulate_avx2(acc, in, key, n);
            scramble_avx2(acc, s + CXXH3_SCRAMBLE_KEY);
            in += n * CXXH3_STRIPE;
            stripes -= n;
            n = CXXH3_STRIPES_PER_BLOCK;
            key = s;
        } while (stripes >= CXXH3_STRIPES_PER_BLOCK);
        so_far = 0;
    }
    if (stripes > 0) {
        accumulate_avx2(acc, in, s + so_far * 8, stripes);
        so_far += stripes;
    }
    _mm256_storeu_si256((__m256i *)accumulators, acc[0]);
    _mm256_storeu_si256((__m256i *)(accumulators + 4), acc[1]);
    return so_far;
}

#else

int cxxh3_has_avx2(void) { return 0; }

size_t cxxh3_consume_avx2(uint64_t acc[8], const void *input, size_t stripes, const void *secret, size_t so_far) {
    (void)acc; (void)input; (void)stripes; (void)secret;
    return so_far;
}

#endif
