#ifndef ATREST_BASE64_BLOCKS_H
#define ATREST_BASE64_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

/// Decodes the longest prefix of `source` (standard base64 symbols, no padding)
/// that is a whole number of 32-symbol blocks and leaves room in `output`
/// (`output_capacity` bytes) for each block's 32-byte store, with AVX2 when the CPU
/// has it. Returns the symbols decoded (a multiple of 32; 0 without AVX2): their
/// 3/4 as many bytes are in `output`. `*invalid` becomes non-zero if any of them
/// is outside the alphabet; the output is then meaningless.
size_t atrest_base64_decode_blocks(const uint8_t *source, size_t source_length,
                                   uint8_t *output, size_t output_capacity, int *invalid);

#endif
