// The declaration is in include/CFuzzerDriver.h; libFuzzer (linked by -sanitize=fuzzer) defines the function.
#include "CFuzzerDriver.h"
