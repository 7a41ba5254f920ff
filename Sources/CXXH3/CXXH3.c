#include "CXXH3.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

int cxxh3_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}

__attribute__((target("avx2")))
void cxxh3_accumulate_avx2(uint64_t acc[8], const void *input, const void *secret, size_t stripes) {
    __m256i a0 = _mm256_loadu_si256((const __m256i *)acc);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));
    const char *in = (const char *)input;
    const char *key = (const char *)secret;
    for (size_t n = 0; n < stripes; n++, in += 64, key += 8) {
        __m256i d0 = _mm256_loadu_si256((const __m256i *)in);
        __m256i d1 = _mm256_loadu_si256((const __m256i *)(in + 32));
        __m256i k0 = _mm256_xor_si256(d0, _mm256_loadu_si256((const __m256i *)key));
        __m256i k1 = _mm256_xor_si256(d1, _mm256_loadu_si256((const __m256i *)(key + 32)));
        /* low 32 bits × high 32 bits of each lane */
        __m256i p0 = _mm256_mul_epu32(k0, _mm256_srli_epi64(k0, 32));
        __m256i p1 = _mm256_mul_epu32(k1, _mm256_srli_epi64(k1, 32));
        /* each lane also adds its neighbour's input word (lanes swapped in pairs) */
        a0 = _mm256_add_epi64(a0, _mm256_add_epi64(p0, _mm256_shuffle_epi32(d0, _MM_SHUFFLE(1, 0, 3, 2))));
        a1 = _mm256_add_epi64(a1, _mm256_add_epi64(p1, _mm256_shuffle_epi32(d1, _MM_SHUFFLE(1, 0, 3, 2))));
    }
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 4), a1);
}

#else

int cxxh3_has_avx2(void) { return 0; }

void cxxh3_accumulate_avx2(uint64_t acc[8], const void *input, const void *secret, size_t stripes) {
    (void)acc; (void)input; (void)secret; (void)stripes;
}

#endif
