// Force-included (`-include`) before every C++ file of the Verilated model.
//
// Verilator 5.006 computes a wide (> 64-bit) shift with library helpers whose
// loops run over a word count passed at run time: a left shift by a bit count
// that is not a multiple of 32 goes through `_vl_insert_WW`, a general
// bit-field insert that is not inlined. rust-hdl builds wide words with
// shifts (it has no concatenation in `#[hdl_gen]`), and the GHASH multiplier
// shifts a 127-bit row by one bit 192 times per cycle, so these helpers took
// most of the model's instructions (callgrind and perf, see sim/README.md).
//
// This header renames Verilator's `VL_SHIFTL_WWI` and `VL_SHIFTR_WWI` while
// `verilated.h` is read and then defines replacements with the same contract
// (result = lwp shifted by rd, truncated to obits bits, zero when rd >= obits,
// bits above obits in the top word clear), computed a word at a time with two
// shifts and an OR, always inlined and with loops the compiler may unroll
// (the widths are constants at every call site). Every other Verilator
// function, including Verilator's own callers of the originals, is unchanged.
#ifndef SIM_FASTWIDE_H
#define SIM_FASTWIDE_H

#define VL_SHIFTL_WWI VL_SHIFTL_WWI_verilator
#define VL_SHIFTR_WWI VL_SHIFTR_WWI_verilator
#include "verilated.h"
#undef VL_SHIFTL_WWI
#undef VL_SHIFTR_WWI

static inline __attribute__((always_inline)) WDataOutP
VL_SHIFTL_WWI(int obits, int, int, WDataOutP owp, WDataInP const lwp, IData rd) VL_MT_SAFE {
    const int words = VL_WORDS_I(obits);
    if (VL_UNLIKELY(rd >= static_cast<IData>(obits))) {
#pragma GCC unroll 8
        for (int i = 0; i < words; ++i) owp[i] = 0;
        return owp;
    }
    const int word_shift = VL_BITWORD_E(rd);
    const int bit_shift = VL_BITBIT_E(rd);
    if (bit_shift == 0) {
#pragma GCC unroll 8
        for (int i = words - 1; i >= word_shift; --i) owp[i] = lwp[i - word_shift];
    } else {
        const int back = VL_EDATASIZE - bit_shift;
#pragma GCC unroll 8
        for (int i = words - 1; i > word_shift; --i) {
            owp[i] = (lwp[i - word_shift] << bit_shift) | (lwp[i - word_shift - 1] >> back);
        }
        owp[word_shift] = lwp[0] << bit_shift;
    }
#pragma GCC unroll 8
    for (int i = 0; i < word_shift; ++i) owp[i] = 0;
    owp[words - 1] &= VL_MASK_E(obits);
    return owp;
}

static inline __attribute__((always_inline)) WDataOutP
VL_SHIFTR_WWI(int obits, int, int, WDataOutP owp, WDataInP const lwp, IData rd) VL_MT_SAFE {
    const int words = VL_WORDS_I(obits);
    if (VL_UNLIKELY(rd >= static_cast<IData>(obits))) {
#pragma GCC unroll 8
        for (int i = 0; i < words; ++i) owp[i] = 0;
        return owp;
    }
    const int word_shift = VL_BITWORD_E(rd);
    const int bit_shift = VL_BITBIT_E(rd);
    const int kept = words - word_shift;
    if (bit_shift == 0) {
#pragma GCC unroll 8
        for (int i = 0; i < kept; ++i) owp[i] = lwp[i + word_shift];
    } else {
        const int back = VL_EDATASIZE - bit_shift;
#pragma GCC unroll 8
        for (int i = 0; i < kept - 1; ++i) {
            owp[i] = (lwp[i + word_shift] >> bit_shift) | (lwp[i + word_shift + 1] << back);
        }
        owp[kept - 1] = lwp[words - 1] >> bit_shift;
    }
#pragma GCC unroll 8
    for (int i = kept; i < words; ++i) owp[i] = 0;
    return owp;
}

#endif  // SIM_FASTWIDE_H
