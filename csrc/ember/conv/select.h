// Which convolution algorithm runs a layer: the rules live in select.cpp, one table per pass.
#pragma once

#include <cstdint>

#include "ember/conv/conv2d.h"

namespace ember::conv {

// Auto: the rules of select.cpp. The others force that path wherever its geometry allows
// (else im2col), for tests and benchmarks. Process-wide; EMBER_CONV_ALGO=name sets it at
// start-up.
enum class ConvAlgo { Auto = 0, Im2col = 1, Winograd = 2, Frame = 3, Direct = 4, Pixel = 5 };
void set_conv_algo(ConvAlgo algo);
ConvAlgo get_conv_algo();
const char* conv_algo_name(ConvAlgo algo);
// The algorithm named `name` ('auto', 'im2col', ...); false if there is none.
bool conv_algo_from_name(const char* name, ConvAlgo& algo);

enum class Pass { Forward, BackwardInput, BackwardWeight };

// The algorithm (never Auto) that runs `pass` of layer `s` for element type T, under the
// current setting.
template <typename T>
ConvAlgo choose_algo(Pass pass, const Conv2dShape& s);

}  // namespace ember::conv
